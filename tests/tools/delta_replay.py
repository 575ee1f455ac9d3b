#!/usr/bin/env python3
"""An independent Delta Lake reader (standard library only), used by Caudal's tests to check that its tables are
valid Delta tables for a reader that shares no code with Caudal.

Replays _delta_log/NNNNNNNNNNNNNNNNNNNN.json commits in version order, as the Delta protocol describes, and prints
the table state as JSON: version, schema, partition columns and the live data files (path decoded once, partition
values, size, numRecords). Fails if versions are not contiguous or version 0 lacks protocol/metaData.

With --changes FROM TO, prints the change data feed of versions FROM..TO instead, as the protocol's reader
requirements for AddCDCFile say: a version with `cdc` actions is read from those change data files alone (their rows
carry _change_type); otherwise its added files are inserts and its removed files deletes (dataChange true only).

usage: delta_replay.py TABLE_DIR [--version N]
       delta_replay.py TABLE_DIR --changes FROM TO
"""
import json
import os
import re
import sys
import urllib.parse


def changes(table_dir, first, last):
    log_dir = os.path.join(table_dir, "_delta_log")
    result = []
    for version in range(first, last + 1):
        cdc, adds, removes, timestamp = [], [], [], None
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
                    adds.append({"path": urllib.parse.unquote(action["add"]["path"]), "partitionValues": action["add"]["partitionValues"], "changeType": "insert"})
                if "remove" in action and action["remove"]["dataChange"]:
                    removes.append({"path": urllib.parse.unquote(action["remove"]["path"]),
                                    "partitionValues": action["remove"].get("partitionValues") or {}, "changeType": "delete"})
        result.append({"version": version, "timestamp": timestamp, "files": cdc if cdc else removes + adds})
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
                    files.pop(action["remove"]["path"], None)
                if "add" in action:
                    add = action["add"]
                    assert isinstance(add["partitionValues"], dict)
                    assert all(v is None or isinstance(v, str) for v in add["partitionValues"].values())
                    stats = json.loads(add["stats"]) if isinstance(add.get("stats"), str) else {}
                    files[add["path"]] = {
                        "path": urllib.parse.unquote(add["path"]),
                        "partitionValues": add["partitionValues"],
                        "size": add["size"],
                        "numRecords": stats.get("numRecords"),
                    }
        if version == 0 and (protocol is None or metadata is None):
            raise SystemExit(f"{table_dir}: version 0 has no protocol or metaData")
    if protocol["minReaderVersion"] > 1:
        raise SystemExit(f"{table_dir}: reader version {protocol['minReaderVersion']} is not supported here")
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
