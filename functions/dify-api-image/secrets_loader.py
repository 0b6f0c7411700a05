#!/usr/bin/env python3
"""Resolve Secrets Manager references into environment variables, then exec a command.

Usage: secrets_loader.py -- <command> [args...]

Environment read:
  DIFY_EDGE_SECRETS    JSON object: target env var -> "<secret id>" or "<secret id>#<json key>".
                       A secret id is a secret ARN or name, or an alias from DIFY_EDGE_SECRET_IDS.
                       Secret names cannot contain '#' (Secrets Manager allows only letters,
                       digits and /_+=.@-), so the first '#' always separates the id from the json key.
  DIFY_EDGE_SECRET_IDS JSON object: alias -> secret ARN or name (optional). Lambda caps the whole
                       environment at 4 KB (Lambda DG "Working with Lambda environment variables"),
                       and a secret ARN is ~120 characters: with aliases each ARN appears once, however
                       many variables read fields of that secret.
  DIFY_EDGE_TEMPLATES  JSON object: target env var -> template string with ${NAME} placeholders,
                       resolved against the environment once the secrets are set. ${NAME|url}
                       percent-encodes the value, for passwords embedded in URLs such as
                       CELERY_BROKER_URL (a generated password may contain '@', '/' or ':').

Why this exists: Lambda has no native "secrets" block like ECS task definitions, and this project
keeps no plaintext secret in a function's environment (docs/adr/0005). The secrets are fetched once, at container
start, and handed to Dify only through the exec'd process environment: never a file, never argv.

Why one BatchGetSecretValue call: every round trip at init adds to the cold start that this
project tries to beat (docs/adr/0005). BatchGetSecretValue returns up to 20 secrets
per call (Secrets Manager API reference); more ids are fetched in chunks of 20.

Only botocore is imported (not boto3): it is the part that does the work, and importing less keeps
the cold start shorter. botocore honours AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Dict, List, Mapping, NoReturn, Optional, Tuple
from urllib.parse import quote

SECRETS_VARIABLE = 'DIFY_EDGE_SECRETS'
SECRET_IDS_VARIABLE = 'DIFY_EDGE_SECRET_IDS'
TEMPLATES_VARIABLE = 'DIFY_EDGE_TEMPLATES'
MAX_IDS_PER_BATCH = 20
ENV_NAME_PATTERN = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')
ALIAS_PATTERN = re.compile(r'^[A-Za-z0-9_-]{1,32}$')
# `${NAME}` / `${NAME|url}`, or the shell-style bare `$NAME` (which CloudFormation's linters do not mistake for an
# Fn::Sub parameter, and which the same template can use in an ECS `bash -c` wrapper).
PLACEHOLDER_PATTERN = re.compile(r'\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(\|url)?\}|([A-Za-z_][A-Za-z0-9_]*))')
LOG_PREFIX = 'dify-edge secrets_loader:'


class LoaderError(Exception):
    """A configuration or retrieval problem; its message must never contain a secret value."""


def fail(message: str) -> NoReturn:
    # One line on stderr, so the reason shows up as a single CloudWatch log event.
    sys.stderr.write(f"{LOG_PREFIX} {' '.join(message.split())}\n")
    sys.stderr.flush()
    sys.exit(1)


def parse_string_map(
    variable: str, raw: Optional[str], key_pattern: 're.Pattern[str]' = ENV_NAME_PATTERN, key_kind: str = 'env var name'
) -> Dict[str, str]:
    if raw is None or raw.strip() == '':
        return {}
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as error:
        raise LoaderError(f'{variable} is not valid JSON ({error.msg} at position {error.pos})') from None
    if not isinstance(parsed, dict):
        raise LoaderError(f'{variable} must be a JSON object of env var name -> string')
    result: Dict[str, str] = {}
    for name, value in parsed.items():
        if not key_pattern.match(name):
            raise LoaderError(f'{variable} has an invalid {key_kind} {name!r}')
        if not isinstance(value, str) or value.strip() == '':
            raise LoaderError(f'{variable}[{name}] must be a non-empty string')
        result[name] = value
    return result


def split_reference(target: str, reference: str, aliases: Mapping[str, str]) -> Tuple[str, Optional[str]]:
    secret_id, separator, json_key = reference.partition('#')
    secret_id = aliases.get(secret_id, secret_id)
    if secret_id == '':
        raise LoaderError(f'{SECRETS_VARIABLE}[{target}] has an empty secret id')
    if separator and json_key == '':
        raise LoaderError(f"{SECRETS_VARIABLE}[{target}] has an empty json key after '#'")
    return secret_id, (json_key if separator else None)


def create_secrets_manager_client():  # type: ignore[no-untyped-def]
    import botocore.config
    import botocore.session

    session = botocore.session.get_session()
    # Short timeouts: a stuck call should fail the init visibly instead of eating the whole
    # Lambda init budget; standard retry mode still retries throttling and transient errors.
    config = botocore.config.Config(
        connect_timeout=3,
        read_timeout=5,
        retries={'mode': 'standard', 'max_attempts': 3},
    )
    # Lambda sets both AWS_REGION and AWS_DEFAULT_REGION; botocore reads only the latter.
    region = os.environ.get('AWS_REGION') or None
    return session.create_client('secretsmanager', region_name=region, config=config)


def matches(secret_id: str, arn: str, name: str) -> bool:
    if secret_id in (arn, name):
        return True
    # A partial ARN (without the 6-character random suffix Secrets Manager appends) is also a valid
    # SecretId; the response carries the full ARN.
    return secret_id.startswith('arn:') and arn.startswith(secret_id + '-') and len(arn) == len(secret_id) + 7


def describe_batch_error(failure: Mapping[str, object], targets_by_id: Mapping[str, List[str]]) -> str:
    failed_id = str(failure.get('SecretId', ''))
    targets = ', '.join(targets_by_id.get(failed_id, [])) or '(unknown env var)'
    return f"{failed_id} for {targets} ({failure.get('ErrorCode', 'Error')}: {failure.get('Message', '')})"


def fetch_secrets(secret_ids: List[str], targets_by_id: Mapping[str, List[str]]) -> Dict[str, str]:
    """Return secret id -> secret string, failing on any per-secret error the batch reports."""
    if not secret_ids:
        return {}
    import botocore.exceptions

    client = create_secrets_manager_client()
    values: Dict[str, str] = {}
    for start in range(0, len(secret_ids), MAX_IDS_PER_BATCH):
        chunk = secret_ids[start : start + MAX_IDS_PER_BATCH]
        secret_values: List[dict] = []
        errors: List[dict] = []
        next_token: Optional[str] = None
        try:
            while True:
                request: Dict[str, object] = {'SecretIdList': chunk}
                if next_token:
                    request['NextToken'] = next_token
                response = client.batch_get_secret_value(**request)
                secret_values.extend(response.get('SecretValues') or [])
                errors.extend(response.get('Errors') or [])
                next_token = response.get('NextToken')
                if not next_token:
                    break
        except botocore.exceptions.ClientError as error:
            details = error.response.get('Error', {})
            raise LoaderError(
                f"BatchGetSecretValue failed: {details.get('Code', 'Unknown')}: {details.get('Message', '')}"
            ) from None
        except botocore.exceptions.BotoCoreError as error:
            raise LoaderError(f'BatchGetSecretValue failed: {error}') from None

        if errors:
            # Report every unreadable secret at once: fixing IAM or names one deploy at a time is slow.
            problems = '; '.join(describe_batch_error(failure, targets_by_id) for failure in errors)
            raise LoaderError(f'cannot read secret {problems}')

        for secret_id in chunk:
            entry = next(
                (
                    item
                    for item in secret_values
                    if matches(secret_id, str(item.get('ARN', '')), str(item.get('Name', '')))
                ),
                None,
            )
            targets = ', '.join(targets_by_id[secret_id])
            if entry is None:
                raise LoaderError(f'secret {secret_id} for {targets} was not returned by BatchGetSecretValue')
            if entry.get('SecretString') is not None:
                values[secret_id] = str(entry['SecretString'])
            elif entry.get('SecretBinary') is not None:
                try:
                    values[secret_id] = bytes(entry['SecretBinary']).decode('utf-8')
                except UnicodeDecodeError:
                    raise LoaderError(f'secret {secret_id} for {targets} is binary and not UTF-8 text') from None
            else:
                raise LoaderError(f'secret {secret_id} for {targets} has no SecretString or SecretBinary')
    return values


def extract_json_key(target: str, secret_id: str, json_key: str, secret_text: str) -> str:
    try:
        document = json.loads(secret_text)
    except json.JSONDecodeError:
        # The decoder's message can quote the secret's text: do not include it.
        raise LoaderError(
            f"secret {secret_id} for {target} is not JSON, so json key '{json_key}' cannot be read"
        ) from None
    if not isinstance(document, dict):
        raise LoaderError(
            f"secret {secret_id} for {target} is not a JSON object, so json key '{json_key}' cannot be read"
        )
    if json_key not in document:
        raise LoaderError(f"json key '{json_key}' is missing from secret {secret_id} (needed for {target})")
    value = document[json_key]
    if value is None:
        raise LoaderError(f"json key '{json_key}' of secret {secret_id} is null (needed for {target})")
    # RDS-generated secrets store "port" as a number: render numbers and booleans as JSON text.
    return value if isinstance(value, str) else json.dumps(value, separators=(',', ':'))


def resolve_templates(templates: Mapping[str, str], environment: Mapping[str, str]) -> Dict[str, str]:
    resolved: Dict[str, str] = {}
    for target, template in templates.items():
        if '${' in PLACEHOLDER_PATTERN.sub('', template):
            raise LoaderError(
                f'{TEMPLATES_VARIABLE}[{target}] has a malformed placeholder (expected ${{NAME}} or ${{NAME|url}})'
            )

        def substitute(match: 're.Match[str]', target: str = target) -> str:
            name, url_encode = match.group(1) or match.group(3), match.group(2)
            if name not in environment:
                raise LoaderError(f'{TEMPLATES_VARIABLE}[{target}] uses ${{{name}}}, which is not set')
            value = environment[name]
            return quote(value, safe='') if url_encode else value

        resolved[target] = PLACEHOLDER_PATTERN.sub(substitute, template)
    return resolved


def build_environment(base: Mapping[str, str]) -> Dict[str, str]:
    references = parse_string_map(SECRETS_VARIABLE, base.get(SECRETS_VARIABLE))
    aliases = parse_string_map(SECRET_IDS_VARIABLE, base.get(SECRET_IDS_VARIABLE), ALIAS_PATTERN, 'alias')
    templates = parse_string_map(TEMPLATES_VARIABLE, base.get(TEMPLATES_VARIABLE))

    parsed: Dict[str, Tuple[str, Optional[str]]] = {}
    targets_by_id: Dict[str, List[str]] = {}
    for target, reference in references.items():
        secret_id, json_key = split_reference(target, reference, aliases)
        parsed[target] = (secret_id, json_key)
        targets_by_id.setdefault(secret_id, []).append(target)

    secret_texts = fetch_secrets(list(targets_by_id), targets_by_id)

    environment = dict(base)
    for target, (secret_id, json_key) in parsed.items():
        text = secret_texts[secret_id]
        environment[target] = text if json_key is None else extract_json_key(target, secret_id, json_key, text)

    environment.update(resolve_templates(templates, environment))
    return environment


def main(argv: List[str]) -> None:
    if '--' not in argv:
        fail("usage: secrets_loader.py -- <command> [args...] (missing '--')")
    command = argv[argv.index('--') + 1 :]
    if not command:
        fail("usage: secrets_loader.py -- <command> [args...] (no command after '--')")
    try:
        environment = build_environment(os.environ)
    except LoaderError as error:
        fail(str(error))
    sys.stdout.flush()
    try:
        os.execvpe(command[0], command, environment)
    except OSError as error:
        sys.stderr.write(f'{LOG_PREFIX} cannot exec {command[0]}: {error.strerror}\n')
        sys.exit(127)
    except ValueError:
        # os.execvpe rejects NUL bytes in values; say which variables without showing them.
        offenders = ', '.join(sorted(name for name, value in environment.items() if '\0' in value))
        fail(f'cannot exec {command[0]}: NUL byte in the value of {offenders or "an env var"}')


if __name__ == '__main__':
    main(sys.argv[1:])
