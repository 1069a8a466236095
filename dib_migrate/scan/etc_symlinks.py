"""Symlinks under /etc, which a changed-files overlay cannot carry as removals."""
import os


def etc_symlinks(root):
    """Every symlink under /etc, by name.

    A changed-files overlay cannot say that the source *removed* something; the links
    packages create in their install scripts (a web server's default site, say) come back
    in a rebuild, and the list lets the image drop those the source did not have.
    """
    top = root.host("/etc")
    out = []
    for dirpath, dirs, files in os.walk(top):
        for name in dirs + files:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                inner = "/etc/" + os.path.relpath(path, top)
                if "\n" not in inner:
                    out.append(inner)
    return sorted(out)
