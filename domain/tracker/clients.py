"""Naming a BitTorrent client from its peer_id, and the allow/deny rules on peer_id prefixes.

Two conventions cover nearly every client (BEP 20):
- Azureus style: `-XXVVVV-` then random bytes (`-qB4650-` is qBittorrent 4.6.5,
  `-TR4060-` Transmission 4.0.6, `-LT20A0-` libtorrent (rasterbar) 2.0.10);
- Shadow style: one letter, up to five version characters, dashes (`S58B--` is Shadow 5.8.11,
  `M7-2-2--` is BitTorrent mainline 7.2.2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

AZUREUS_CLIENTS = {
    "qB": "qBittorrent", "TR": "Transmission", "UT": "\u00b5Torrent", "UM": "\u00b5Torrent Mac",
    "LT": "libtorrent (rasterbar)", "lt": "libTorrent (rakshasa)", "DE": "Deluge",
    "AZ": "Vuze", "BI": "BiglyBT", "KT": "KTorrent", "rT": "rTorrent", "BT": "BitTorrent",
    "BC": "BitComet", "FD": "Free Download Manager", "PI": "PicoTorrent", "TX": "Tixati",
    "WW": "WebTorrent", "AG": "Ares", "A~": "Ares", "ML": "MLDonkey", "FL": "Folx",
    "LW": "LimeWire", "SD": "Thunder", "XL": "Xunlei", "BF": "BitFlu", "FW": "FrostWire",
    "TL": "Tribler", "VG": "Vagaa", "BN": "Baidu Netdisk", "AR": "Arctic", "aria2": "aria2",
}
SHADOW_CLIENTS = {
    "A": "ABC", "O": "Osprey Permaseed", "Q": "BTQueue", "R": "Tribler", "S": "Shadow",
    "T": "BitTornado", "U": "UPnP NAT Bit Torrent", "M": "BitTorrent (mainline)",
}
_AZUREUS = re.compile(rb"^-([A-Za-z~]{2})([0-9A-Za-z]{4})-")
_SHADOW_VERSION = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.-"
_MAINLINE = re.compile(rb"^M(\d)-(\d{1,2})-(\d{1,2})-")
# aria2's "A2-1-36-0-"; the patch part lies beyond the 8 bytes the announce path names.
_ARIA2 = re.compile(rb"^A2-(\d{1,2})-(\d{1,2})(?:-(\d{1,2})-)?")


def _azureus_digit(byte: int) -> str:
    ch = chr(byte)
    if ch.isdigit():
        return ch
    # Some clients use letters for two-digit parts (A=10 ... Z=35).
    return str(int(ch, 36)) if ch.isalnum() else ch


def client_name(peer_id: bytes) -> str:
    """A readable client name and version from a peer_id ("qBittorrent 4.6.5"), or the
    peer_id's printable prefix when the convention is unknown."""
    m = _AZUREUS.match(peer_id)
    if m:
        code = m.group(1).decode()
        name = AZUREUS_CLIENTS.get(code, f"Unknown ({code})")
        v = m.group(2)
        if code in ("qB", "DE", "TR", "LT", "UT", "UM", "BI", "KT", "PI"):
            parts = [_azureus_digit(b) for b in v]
            if code == "TR" and v[:1] == b"0" and v[1:].isdigit():
                # Transmission 0.x: -TR0072- is 0.72.
                return f"{name} 0.{int(v[1:].decode())}"
            if code == "UT" or code == "UM":
                return f"{name} {parts[0]}.{parts[1]}.{parts[2]}"
            while len(parts) > 3 and parts[-1] == "0":
                parts.pop()
            return f"{name} {'.'.join(parts)}"
        return f"{name} {'.'.join(_azureus_digit(b) for b in v)}"
    m = _MAINLINE.match(peer_id)
    if m:
        return f"BitTorrent (mainline) {'.'.join(g.decode() for g in m.groups())}"
    m = _ARIA2.match(peer_id)
    if m:
        return f"aria2 {'.'.join(g.decode() for g in m.groups() if g)}"
    head = peer_id[:1]
    if head and chr(head[0]) in SHADOW_CLIENTS:
        raw = peer_id[1:6]
        version: list[str] = []
        for b in raw:
            if b == ord("-"):
                break
            pos = _SHADOW_VERSION.find(bytes([b]))
            if pos < 0 or b == ord("."):
                version = []
                break
            version.append(str(pos))
        if version and peer_id[1 + len(version):1 + len(version) + 1] == b"-":
            return f"{SHADOW_CLIENTS[chr(head[0])]} {'.'.join(version)}"
    printable = bytes(b for b in peer_id[:8] if 32 <= b < 127).decode()
    return f"Unknown ({printable})" if printable else "Unknown"


@dataclass(frozen=True, slots=True)
class ClientRules:
    """The active rules as the announce path needs them (cached; see cache.py)."""

    allow: tuple[tuple[bytes, str], ...] = ()
    deny: tuple[tuple[bytes, str, str], ...] = ()

    def refusal(self, peer_id: bytes) -> str | None:
        """Why this client is refused, or None when it may announce."""
        for prefix, name, reason in self.deny:
            if peer_id.startswith(prefix):
                label = name or client_name(peer_id)
                why = f": {reason}" if reason else ""
                return (f"Client not allowed: {label} is blocked on this tracker{why}. "
                        "Use another client or version (see the client list on the site).")
        if self.allow and not any(peer_id.startswith(p) for p, _ in self.allow):
            allowed = ", ".join(sorted({n or p.decode("latin-1") for p, n in self.allow}))
            return (f"Client not allowed: {client_name(peer_id)} is not on this tracker's "
                    f"list of allowed clients ({allowed}).")
        return None
