#!/usr/bin/env python
"""Print, as JSON, the versions a package repository offers for some package names.

Reads the repository's own index over HTTP(S) or file:// and changes nothing on the host, so the
docker role's preflight can tell whether a pinned version exists BEFORE any repository file is
written. Runs on the host's Python (2.7 on CentOS 7, 3.x elsewhere), standard library only: keep it
2.7-compatible (no f-strings, no annotations; tests/ansible/test_target_python.py runs it under 2.7).

  repo_versions.py apt <base>/<distribution> <suite> <component> <arch> NAME...
  repo_versions.py rpm <baseurl> NAME...

Output: {"url": <index read>, "versions": {NAME: [versions...]}}; exit 1 with {"error": ...} when
the index cannot be read.
"""

import bz2
import gzip
import io
import json
import sys
import xml.etree.ElementTree as ET

try:  # Python 3
    from urllib.request import urlopen
except ImportError:  # Python 2 (CentOS 7)
    from urllib2 import urlopen  # type: ignore

try:
    import lzma
except ImportError:  # Python 2
    lzma = None

REPO_NS = "{http://linux.duke.edu/metadata/repo}"
COMMON_NS = "{http://linux.duke.edu/metadata/common}"


def fetch(url):
    response = urlopen(url, timeout=60)
    try:
        return response.read()
    finally:
        response.close()


def decompress(url, data):
    if url.endswith(".gz"):
        return gzip.GzipFile(fileobj=io.BytesIO(data)).read()
    if url.endswith(".bz2"):
        return bz2.decompress(data)
    if url.endswith(".xz"):
        if lzma is None:
            raise ValueError("cannot read {}: no lzma module in this Python".format(url))
        return lzma.decompress(data)
    return data


def apt_versions(text, names):
    """Versions per package name from a Packages index (deb822 stanzas)."""
    found = dict((name, []) for name in names)
    for stanza in text.split("\n\n"):
        fields = {}
        for line in stanza.splitlines():
            if ":" in line and not line.startswith((" ", "\t")):
                key, value = line.split(":", 1)
                fields[key.strip()] = value.strip()
        if fields.get("Package") in found:
            found[fields["Package"]].append(fields.get("Version", ""))
    return found


def rpm_primary_location(repomd_xml):
    root = ET.fromstring(repomd_xml)
    for data in root.findall(REPO_NS + "data"):
        if data.get("type") == "primary":
            return data.find(REPO_NS + "location").get("href")
    raise ValueError("repomd.xml lists no primary metadata")


def rpm_versions(primary_xml, names):
    """Versions per package name from primary.xml, as [epoch:]version-release."""
    found = dict((name, []) for name in names)
    root = ET.fromstring(primary_xml)
    for package in root.findall(COMMON_NS + "package"):
        name = package.findtext(COMMON_NS + "name")
        if name in found:
            v = package.find(COMMON_NS + "version")
            epoch = v.get("epoch", "0")
            evr = "{}-{}".format(v.get("ver"), v.get("rel"))
            found[name].append(evr if epoch in ("", "0") else "{}:{}".format(epoch, evr))
    return found


def main(argv):
    kind = argv[1]
    if kind == "apt":
        base, suite, component, arch = argv[2:6]
        names = argv[6:]
        index = "{}/dists/{}/{}/binary-{}/Packages".format(base.rstrip("/"), suite, component, arch)
        last_error = None
        for url in (index + ".gz", index):
            try:
                text = decompress(url, fetch(url)).decode("utf-8")
                return {"url": url, "versions": apt_versions(text, names)}
            except Exception as error:  # try the next form of the index
                last_error = "{}: {}".format(url, error)
        raise ValueError(last_error)
    if kind == "rpm":
        base = argv[2].rstrip("/")
        names = argv[3:]
        location = rpm_primary_location(fetch(base + "/repodata/repomd.xml"))
        url = base + "/" + location
        return {"url": url, "versions": rpm_versions(decompress(url, fetch(url)), names)}
    raise ValueError("unknown repository kind {!r} (apt or rpm)".format(kind))


if __name__ == "__main__":
    try:
        print(json.dumps(main(sys.argv)))
    except Exception as error:
        print(json.dumps({"error": str(error)}))
        sys.exit(1)
