"""packer-provision: a temporary root login key for Packer's provisioning boot (pattern 2)."""
import re

from ... import rule_registry as R
from ...errors import InputError
from ..model import Change

AUTHORIZED_KEYS = "/root/.ssh/authorized_keys"
# every line the key adds carries this word; the template's last provisioner removes those lines
MARKER = "dib-migrate-packer-provision"
KEY_TYPE = re.compile(r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521))$")


def provision_key(ctx):
    key = ctx.options.packer_key
    if not key:
        return
    fields = key.split()
    if len(fields) < 2 or not KEY_TYPE.match(fields[0]) or not re.match(r"^[A-Za-z0-9+/]+={0,2}$", fields[1]):
        raise InputError("--packer", "public key", key, "not an OpenSSH public key")
    # the line's comment is the marker alone: nothing from elsewhere lands in authorized_keys
    key = "%s %s %s" % (fields[0], fields[1], MARKER)
    yield Change("provision-key", AUTHORIZED_KEYS, R.PACKER_PROVISION,
                 "temporary root login key for Packer's provisioning boot; the template's last provisioner "
                 "removes it, so the final image keeps only the source's keys",
                 {"public_key": key, "marker": MARKER})


def rules(ctx):
    yield from provision_key(ctx)
