"""Validates a SARIF log against the SARIF 2.1.0 JSON schema (tests/fixtures), as a
code-scanning service would before reading it.

  sarif_check.py LOG   prints {"errors": [message, ...]}: empty when the log is valid
"""

import json
import os
import sys

import jsonschema

SCHEMA = os.path.join(os.path.dirname(__file__), "..", "fixtures", "sarif-schema-2.1.0.json")


def main():
    with open(SCHEMA) as f:
        schema = json.load(f)
    with open(sys.argv[1]) as f:
        log = json.load(f)
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(log)]
    json.dump({"errors": errors}, sys.stdout)


if __name__ == "__main__":
    main()
