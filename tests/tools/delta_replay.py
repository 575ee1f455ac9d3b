#!/usr/bin/env python3
"""An independent Delta Lake reader (standard library only), used by Caudal's tests to check that its tables are
valid Delta tables for a reader that shares no code with Caudal.

Replays _delta_log/NNNNNNNNNNNNNNNNNNNN.json commits in version order, as the Delta protocol describes, and prints
the table state as JSON: version, schema, partition columns and the live data files (path decoded once, partition
values, size, numRecords, and the rows their deletion vector deletes: read from deletion_vector_<uuid>.bin, its size,
CRC-32 and cardinality checked, the RoaringBitmapArray decoded). Fails if versions are not contiguous or version 0
lacks protocol/metaData.

With --changes FROM TO, prints the change data feed of versions FROM..TO instead, as the protocol's reader
requirements for AddCDCFile say: a version with `cdc` actions is read from those change data files alone (their rows
carry _change_type); otherwise its added files are inserts and its removed files deletes (dataChange true only), less
the rows each one's deletion vector deletes (deletedRows); a file removed and added again with another deletion vector
changed only by the rows the two vectors differ in (onlyRows: deleted, or inserted when only the old vector hid them).

usage: delta_replay.py TABLE_DIR [--version N]
       delta_replay.py TABLE_DIR --changes FROM TO
"""
import json
import os
import re
import struct
import sys
import urllib.parse
import uuid
import zlib

Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"


def z85_decode(text):
    out = bytearray()
    for i in range(0, len(text), 5):
        value = 0
        for c in text[i:i + 5]:
            value = value * 85 + Z85.index(c)
        out += value.to_bytes(4, "big")
    return bytes(out)


def roaring32(data, at, high, rows):
    """One portable 32-bit Roaring bitmap at data[at:]; appends its values (with the high 32 bits) to rows."""
    cookie = struct.unpack_from("<I", data, at)[0]
    if cookie == 12346:
        size = struct.unpack_from("<I", data, at + 4)[0]
        at += 8
        runs = bytes((size + 7) // 8)
    elif cookie & 0xFFFF == 12347:
        size = (cookie >> 16) + 1
        runs = data[at + 4:at + 4 + (size + 7) // 8]
        at += 4 + len(runs)
    else:
        raise SystemExit(f"not a Roaring bitmap (cookie {cookie})")
    header = [struct.unpack_from("<HH", data, at + 4 * i) for i in range(size)]
    at += 4 * size
    if cookie == 12346 or size >= 4:
        at += 4 * size
    for i, (key, card) in enumerate(header):
        base = high << 32 | key << 16
        if runs[i // 8] >> (i % 8) & 1:
            n = struct.unpack_from("<H", data, at)[0]
            for r in range(n):
                start, length = struct.unpack_from("<HH", data, at + 2 + 4 * r)
                rows.extend(base | v for v in range(start, start + length + 1))
            at += 2 + 4 * n
        elif card + 1 <= 4096:
            rows.extend(base | v for v in struct.unpack_from(f"<{card + 1}H", data, at))
            at += 2 * (card + 1)
        else:
            words = struct.unpack_from("<1024Q", data, at)
            rows.extend(base | (w * 64 + b) for w, word in enumerate(words) for b in range(64) if word >> b & 1)
            at += 8192
    return at


def deleted_rows(table_dir, dv):
    """The rows a deletion vector descriptor deletes, ascending, checked as the protocol lays the file out."""
    if dv["storageType"] == "u":
        name = dv["pathOrInlineDv"]
        prefix = name[:-20]
        path = os.path.join(table_dir, prefix, f"deletion_vector_{uuid.UUID(bytes=z85_decode(name[-20:]))}.bin")
        with open(path, "rb") as f:
            content = f.read()
        at = dv["offset"]
        if content[0] != 1 or struct.unpack_from(">i", content, at)[0] != dv["sizeInBytes"]:
            raise SystemExit(f"{path}: bad version byte or size at offset {at}")
        data = content[at + 4:at + 4 + dv["sizeInBytes"]]
        if zlib.crc32(data) != struct.unpack_from(">I", content, at + 4 + dv["sizeInBytes"])[0]:
            raise SystemExit(f"{path}: checksum mismatch at offset {at}")
    elif dv["storageType"] == "i":
        data = z85_decode(dv["pathOrInlineDv"])[:dv["sizeInBytes"]]
    else:
        raise SystemExit(f"storage type {dv['storageType']} is not read here")
    magic, count = struct.unpack_from("<iq", data, 0)
    if magic != 1681511377:
        raise SystemExit(f"bad deletion vector magic {magic}")
    rows, at = [], 12
    for _ in range(count):
        high = struct.unpack_from("<I", data, at)[0]
        at = roaring32(data, at + 4, high, rows)
    if len(rows) != dv["cardinality"] or rows != sorted(set(rows)):
        raise SystemExit(f"deletion vector holds {len(rows)} rows, the log says {dv['cardinality']}")
    return rows


def file_key(action):
    dv = action.get("deletionVector")
    return action["path"], None if dv is None else (dv["storageType"], dv["pathOrInlineDv"], dv.get("offset"))


def changes(table_dir, first, last):
    log_dir = os.path.join(table_dir, "_delta_log")
    result = []
    for version in range(first, last + 1):
        cdc, adds, removes, timestamp = [], {}, [], None
        with open(os.path.join(log_dir, f"{version:020d}.json"), encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                action = json.loads(line)
                if "commitInfo" in action:
                    timestamp = action["commitInfo"].get("timestamp")
                if "cdc" in action:
                    assert action["cdc"]["dataChange"] is False
                    cdc.append({"path": urllib.parse.unquote(action["cdc"]["path"]), "partitionValues": action["cdc"]["partitionValues"], "changeType": None})
                if "add" in action and action["add"]["dataChange"]:
                    adds[action["add"]["path"]] = action["add"]
                if "remove" in action and action["remove"]["dataChange"]:
                    removes.append(action["remove"])
        files = []
        for remove in removes:
            path, values = urllib.parse.unquote(remove["path"]), remove.get("partitionValues") or {}
            old = set(deleted_rows(table_dir, remove["deletionVector"])) if remove.get("deletionVector") else set()
            again = adds.pop(remove["path"], None)
            if again is None:
                files.append({"path": path, "partitionValues": values, "changeType": "delete", "deletedRows": sorted(old)})
                continue
            # The same file again with another deletion vector: only the rows the vectors differ in changed.
            new = set(deleted_rows(table_dir, again["deletionVector"])) if again.get("deletionVector") else set()
            files.append({"path": path, "partitionValues": values, "changeType": "delete", "onlyRows": sorted(new - old)})
            files.append({"path": path, "partitionValues": values, "changeType": "insert", "onlyRows": sorted(old - new)})
        for add in adds.values():
            dv = add.get("deletionVector")
            files.append({"path": urllib.parse.unquote(add["path"]), "partitionValues": add["partitionValues"], "changeType": "insert",
                          "deletedRows": deleted_rows(table_dir, dv) if dv else []})
        result.append({"version": version, "timestamp": timestamp, "files": cdc if cdc else files})
    return result


def replay(table_dir, upto=None):
    log_dir = os.path.join(table_dir, "_delta_log")
    versions = sorted(int(m.group(1)) for name in os.listdir(log_dir)
                      if (m := re.fullmatch(r"(\d{20})\.json", name)))
    if not versions or versions != list(range(versions[-1] + 1)):
        raise SystemExit(f"{table_dir}: commit versions are not contiguous from 0: {versions[:5]}...")
    if upto is not None:
        versions = [v for v in versions if v <= upto]
    protocol = metadata = None
    files = {}
    for version in versions:
        with open(os.path.join(log_dir, f"{version:020d}.json"), encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                action = json.loads(line)
                if "protocol" in action:
                    protocol = action["protocol"]
                if "metaData" in action:
                    metadata = action["metaData"]
                if "remove" in action:
                    files.pop(file_key(action["remove"]), None)
                if "add" in action:
                    add = action["add"]
                    assert isinstance(add["partitionValues"], dict)
                    assert all(v is None or isinstance(v, str) for v in add["partitionValues"].values())
                    stats = json.loads(add["stats"]) if isinstance(add.get("stats"), str) else {}
                    if any(k[0] == add["path"] for k in files if k != file_key(add)):
                        raise SystemExit(f"{table_dir}: version {version} adds {add['path']} while another add of it is live")
                    files[file_key(add)] = {
                        "path": urllib.parse.unquote(add["path"]),
                        "partitionValues": add["partitionValues"],
                        "size": add["size"],
                        "numRecords": stats.get("numRecords"),
                        "deletionVector": add.get("deletionVector"),
                    }
        if version == 0 and (protocol is None or metadata is None):
            raise SystemExit(f"{table_dir}: version 0 has no protocol or metaData")
    if protocol["minReaderVersion"] > 1 and not (protocol["minReaderVersion"] == 3 and set(protocol.get("readerFeatures", [])) <= {"deletionVectors"}):
        raise SystemExit(f"{table_dir}: reader version {protocol['minReaderVersion']} {protocol.get('readerFeatures')} is not supported here")
    for f in files.values():
        dv = f.pop("deletionVector")
        f["deletedRows"] = deleted_rows(table_dir, dv) if dv else []
    for f in files.values():
        actual = os.path.getsize(os.path.join(table_dir, f["path"]))
        if actual != f["size"]:
            raise SystemExit(f"{table_dir}: {f['path']} has {actual} bytes, the log says {f['size']}")
    schema = json.loads(metadata["schemaString"])
    return {
        "version": versions[-1],
        "partitionColumns": metadata["partitionColumns"],
        "schema": [{"name": f["name"], "type": f["type"]} for f in schema["fields"]],
        "files": sorted(files.values(), key=lambda f: f["path"]),
    }


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[2] == "--changes":
        json.dump(changes(sys.argv[1], int(sys.argv[3]), int(sys.argv[4])), sys.stdout)
    elif len(sys.argv) == 4 and sys.argv[2] == "--version":
        json.dump(replay(sys.argv[1], int(sys.argv[3])), sys.stdout)
    else:
        json.dump(replay(sys.argv[1]), sys.stdout)
