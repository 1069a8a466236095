"""One guest connection (stdin/stdout, as qemu's guestfwd ``cmd:`` hands it) relayed to HOST PORT."""
import os
import select
import socket
import sys


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    sock = socket.create_connection((host, port), timeout=30)
    fds = {0: sock.fileno(), sock.fileno(): 1}
    open_ = {0, sock.fileno()}
    while open_:
        ready, _, _ = select.select(list(open_), [], [], 60)
        if not ready:
            break
        for fd in ready:
            data = os.read(fd, 65536)
            if not data:
                open_.discard(fd)
                if fd == 0:
                    sock.shutdown(socket.SHUT_WR)
                else:
                    return
                continue
            if fds[fd] == 1:
                os.write(1, data)
            else:
                sock.sendall(data)


if __name__ == "__main__":
    main()
