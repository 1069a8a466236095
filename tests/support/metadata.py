"""Cloud metadata endpoints emulated on loopback for a qemu guest (issue 13).

Each service is a small HTTP server on 127.0.0.1 that records every request. The guest reaches
it at 169.254.169.254:80 through a second user-mode NIC (``net=169.254.0.0/16``: libslirp only
forwards guest addresses inside a NIC's own network), whose ``guestfwd`` runs ``relay.py`` per
connection. Seed media (ConfigDrive, Azure's provisioning ISO) are plain ISO files made with
genisoimage (this host's kernel cannot mount iso9660; the guest's can).

What each emulation proves, and what it cannot, is in docs/matrix.md.
"""
import json
import secrets
import sys
import tempfile
import threading
import subprocess
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

METADATA_IP = "169.254.169.254"
RELAY = Path(__file__).with_name("relay.py")
AZURE_CHASSIS = "7783-7084-3265-9085-8269-3286-77"     # what ds-identify and waagent look for


def walk_ec2_tree(node, names):
    """The node of an EC2-style meta-data tree at ``names`` (``0`` is the first public key), or None."""
    for name in names:
        if name == "0" and isinstance(node, dict) and "0=dibm-key" in node:
            name = "0=dibm-key"
        if not isinstance(node, dict) or name not in node:
            return None
        node = node[name]
    return node


class _Handler(BaseHTTPRequestHandler):
    server_version = "dibm-metadata"

    def log_message(self, *args):
        pass

    def _answer(self, method):
        status, body, ctype = self.server.service.answer(method, self.path, self.headers)
        self.server.service.requests.append((method, self.path, status))
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._answer("GET")

    def do_PUT(self):
        self._answer("PUT")


class Service:
    """Base: serve ``answer()``; ``requests`` is the log of (method, path, status)."""

    name = "none"

    def __init__(self, hostname, public_key, mac):
        self.hostname, self.public_key, self.mac = hostname, public_key.strip(), mac
        self.instance_id = "i-%s" % secrets.token_hex(8)
        self.requests = []
        self.httpd = None

    def answer(self, method, path, headers):
        return 404, "not found\n", "text/plain"

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.service = self
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def port(self):
        return self.httpd.server_address[1]

    def qemu_args(self, workdir, nic_model):
        """The guest's second NIC, reaching this service at 169.254.169.254:80, plus seed media."""
        cmd = "%s %s 127.0.0.1 %d" % (sys.executable, RELAY, self.port)
        return ["-nic", "user,net=169.254.0.0/16,restrict=on,model=%s,mac=52:54:00:a9:fe:02,guestfwd=tcp:%s:80-cmd:%s"
                % (nic_model, METADATA_IP, cmd)]

    def served(self):
        """Paths answered 200 (what the guest really read)."""
        return [p for m, p, s in self.requests if s == 200]


# ------------------------------------------------------------------------------- OpenStack
class OpenStackMetadata(Service):
    """Nova's metadata service: /openstack/<version>/meta_data.json and friends; the SMBIOS of a
    Nova guest, so cloud-init's ds-identify finds OpenStack as on a real cloud."""

    name = "openstack-metadata"
    VERSIONS = ("2012-08-10", "2013-04-04", "2016-06-30", "2018-08-27", "latest")
    smbios = ["-smbios", "type=1,manufacturer=OpenStack Foundation,product=OpenStack Nova"]

    def meta_data(self):
        return {"uuid": str(uuid.uuid4()), "hostname": self.hostname, "name": self.hostname,
                "availability_zone": "nova", "launch_index": 0, "project_id": "dibm",
                "public_keys": {"dibm-key": self.public_key}, "keys": [
                    {"name": "dibm-key", "type": "ssh", "data": self.public_key}]}

    def ec2_tree(self):
        """Nova's EC2-compatible metadata (/latest/meta-data/): cloud-init 20.4's OpenStack datasource
        (bullseye) reads it too and gives up without it."""
        return {"ami-id": "ami-00000001", "ami-launch-index": "0", "hostname": self.hostname,
                "instance-id": self.instance_id, "instance-type": "m1.small", "local-hostname": self.hostname,
                "local-ipv4": "10.0.2.15", "placement": {"availability-zone": "nova"},
                "public-keys": {"0=dibm-key": {"openssh-key": self.public_key}}, "reservation-id": "r-dibm"}

    def answer(self, method, path, headers):
        path = path.split("?")[0].rstrip("/")
        if path == "/openstack":
            return 200, "\n".join(self.VERSIONS), "text/plain"
        parts = [p for p in path.split("/") if p]
        if parts[:2] in (["latest", "meta-data"], ["2009-04-04", "meta-data"]):
            node = walk_ec2_tree(self.ec2_tree(), parts[2:])
            if node is None:
                return 404, "not found\n", "text/plain"
            if isinstance(node, dict):
                listing = [k + ("/" if isinstance(v, dict) and not k.startswith("0=") else "") for k, v in node.items()]
                return 200, "\n".join(listing), "text/plain"
            return 200, node, "text/plain"
        if parts[:1] == ["latest"] or parts[:1] == ["2009-04-04"]:
            return 404, "not found\n", "text/plain"
        parts = path.split("/")
        if len(parts) == 4 and parts[1] == "openstack" and parts[2] in self.VERSIONS:
            doc = {"meta_data.json": self.meta_data(), "vendor_data.json": {}, "vendor_data2.json": {},
                   "network_data.json": {"links": [], "networks": [], "services": []}}.get(parts[3])
            if doc is not None:
                return 200, json.dumps(doc), "application/json"
        return 404, "not found\n", "text/plain"

    def qemu_args(self, workdir, nic_model):
        return super().qemu_args(workdir, nic_model) + self.smbios


def config_drive(path, hostname, public_key):
    """A ConfigDrive ISO (the existing tests/support/vm.py one)."""
    from .vm import config_drive as make
    return make(path, hostname, [public_key])


class ConfigDrive(Service):
    """OpenStack's ConfigDrive: a seed ISO, no network service."""

    name = "configdrive"

    def qemu_args(self, workdir, nic_model):
        iso = config_drive(Path(workdir) / "config-drive.iso", self.hostname, self.public_key)
        return ["-drive", "file=%s,format=raw,if=virtio,readonly=on" % iso] + OpenStackMetadata.smbios


# ------------------------------------------------------------------------------- EC2
class Ec2Imds(Service):
    """IMDSv2: PUT /latest/api/token, then every GET must carry the token; the SMBIOS of a Nitro
    instance (sys_vendor "Amazon EC2", a product UUID starting "ec2" equal to the serial)."""

    name = "ec2-imdsv2"

    def __init__(self, *a):
        super().__init__(*a)
        self.token = secrets.token_urlsafe(24)
        self.uuid = "ec2" + str(uuid.uuid4())[3:]

    def tree(self):
        mac = self.mac
        return {
            "ami-id": "ami-0d1b0000000000001", "instance-id": self.instance_id, "instance-type": "t3.micro",
            "hostname": "ip-10-0-2-15.ec2.internal", "local-hostname": "ip-10-0-2-15.ec2.internal",
            "local-ipv4": "10.0.2.15", "mac": mac,
            "placement": {"availability-zone": "us-east-1a", "region": "us-east-1"},
            "public-keys": {"0=dibm-key": {"openssh-key": self.public_key}},
            "services": {"domain": "amazonaws.com", "partition": "aws"},
            "network": {"interfaces": {"macs": {mac: {"device-number": "0", "local-ipv4s": "10.0.2.15",
                                                      "mac": mac, "subnet-ipv4-cidr-block": "10.0.2.0/24"}}}},
        }

    def identity(self):
        return {"instanceId": self.instance_id, "region": "us-east-1", "availabilityZone": "us-east-1a",
                "instanceType": "t3.micro", "accountId": "123456789012", "imageId": "ami-0d1b0000000000001",
                "privateIp": "10.0.2.15", "architecture": "x86_64"}

    def answer(self, method, path, headers):
        path = path.split("?")[0]
        if method == "PUT":
            if path == "/latest/api/token" and headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                return 200, self.token, "text/plain"
            return 400, "bad token request\n", "text/plain"
        if headers.get("X-aws-ec2-metadata-token") != self.token:
            return 401, "IMDSv2 token required\n", "text/plain"
        parts = [p for p in path.split("/") if p]
        if not parts:
            return 200, "latest\n2021-03-23\n2018-09-24\n2016-09-02\n2009-04-04", "text/plain"
        rest = parts[1:]
        if rest[:1] == ["user-data"]:
            return 404, "not found\n", "text/plain"
        if rest[:2] == ["dynamic", "instance-identity"]:
            if rest[2:] == ["document"]:
                return 200, json.dumps(self.identity()), "application/json"
            return 200, "document", "text/plain"
        if rest[:1] != ["meta-data"]:
            return 404, "not found\n", "text/plain"
        node = walk_ec2_tree(self.tree(), rest[1:])
        if node is None:
            return 404, "not found\n", "text/plain"
        if isinstance(node, dict):
            listing = [("0" if k == "0=dibm-key" and rest[-1:] == ["0"] else k) + ("/" if isinstance(v, dict)
                       and not k.startswith("0=") else "") for k, v in node.items()]
            return 200, "\n".join(listing), "text/plain"
        return 200, node, "text/plain"

    def qemu_args(self, workdir, nic_model):
        smbios = "type=1,manufacturer=Amazon EC2,product=t3.micro,serial=%s,uuid=%s" % (self.uuid, self.uuid)
        return super().qemu_args(workdir, nic_model) + ["-smbios", smbios]


# ------------------------------------------------------------------------------- Azure
OVF_ENV = """<?xml version="1.0" encoding="utf-8"?>
<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:oe="http://schemas.dmtf.org/ovf/environment/1"
 xmlns:wa="http://schemas.microsoft.com/windowsazure" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
 <wa:ProvisioningSection>
  <wa:Version>1.0</wa:Version>
  <LinuxProvisioningConfigurationSet xmlns="http://schemas.microsoft.com/windowsazure"
   xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
   <ConfigurationSetType>LinuxProvisioningConfiguration</ConfigurationSetType>
   <HostName>{hostname}</HostName>
   <UserName>azureuser</UserName>
   <DisableSshPasswordAuthentication>true</DisableSshPasswordAuthentication>
   <SSH><PublicKeys><PublicKey>
    <Fingerprint>0000000000000000000000000000000000000000</Fingerprint>
    <Path>/home/azureuser/.ssh/authorized_keys</Path>
    <Value>{key}</Value>
   </PublicKey></PublicKeys></SSH>
  </LinuxProvisioningConfigurationSet>
 </wa:ProvisioningSection>
 <wa:PlatformSettingsSection>
  <wa:Version>1.0</wa:Version>
  <PlatformSettings xmlns="http://schemas.microsoft.com/windowsazure"
   xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
   <KmsServerHostname>kms.core.windows.net</KmsServerHostname>
   <ProvisionGuestAgent>true</ProvisionGuestAgent>
   <GuestAgentPackageName i:nil="true" />
   <PreprovisionedVm>false</PreprovisionedVm>
  </PlatformSettings>
 </wa:PlatformSettingsSection>
</Environment>
"""


class AzureProvisioning(Service):
    """Azure Gen1: ovf-env.xml on a provisioning ISO in the IDE CD drive, the chassis asset tag of
    a Hyper-V guest on Azure, and IMDS (/metadata/instance, header Metadata: true). The wireserver
    (168.63.129.16: goal state, health reports) is not emulated."""

    name = "azure-ovf+imds"

    def __init__(self, *a):
        super().__init__(*a)
        # the VM id: Hyper-V's SMBIOS system UUID (cloud-init's Azure datasource stops without one:
        # "failed to read system-uuid"), IMDS's compute.vmId
        self.vm_id = str(uuid.uuid4())

    def answer(self, method, path, headers):
        if headers.get("Metadata") != "true":
            return 400, "Metadata header required\n", "text/plain"
        if path.startswith("/metadata/instance"):
            doc = {"compute": {"name": self.hostname, "vmId": self.vm_id, "location": "westeurope",
                               "osType": "Linux", "vmSize": "Standard_B1s",
                               "osProfile": {"computerName": self.hostname, "adminUsername": "azureuser",
                                             "disablePasswordAuthentication": "true"},
                               "publicKeys": [{"keyData": self.public_key,
                                               "path": "/home/azureuser/.ssh/authorized_keys"}]},
                   "network": {"interface": [{"macAddress": self.mac.replace(":", "").upper(),
                                              "ipv4": {"ipAddress": [{"privateIpAddress": "10.0.2.15"}],
                                                       "subnet": [{"address": "10.0.2.0", "prefix": "24"}]},
                                              "ipv6": {"ipAddress": []}}]}}
            return 200, json.dumps(doc), "application/json"
        return 404, "not found\n", "text/plain"

    def iso(self, workdir):
        path = Path(workdir) / "ovf-env.iso"
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "ovf-env.xml").write_text(OVF_ENV.format(hostname=self.hostname, key=self.public_key))
            subprocess.run(["genisoimage", "-quiet", "-o", str(path), "-V", "rd_rdfe_stable.dibm", "-r", "-J",
                            tmp], check=True)
        return path

    def qemu_args(self, workdir, nic_model):
        return super().qemu_args(workdir, nic_model) + [
            "-drive", "file=%s,format=raw,if=ide,index=2,media=cdrom,readonly=on" % self.iso(workdir),
            # the chassis asset tag only: with Hyper-V's system vendor and product ("Microsoft
            # Corporation", "Virtual Machine") ata_piix ignores the IDE disk, as it should where
            # VMBus storage (hv_storvsc) serves it, which qemu cannot emulate
            "-smbios", "type=3,manufacturer=Microsoft Corporation,asset=%s" % AZURE_CHASSIS, "-uuid", self.vm_id]


SERVICES = {s.name: s for s in (OpenStackMetadata, ConfigDrive, Ec2Imds, AzureProvisioning)}
