"""The small core helpers: logger, safeget and the cached boto3 session."""

from __future__ import annotations

import json
import logging

import pytest

from tight.core import logger
from tight.core.safeget import safeget
from tight.providers.aws.clients import boto3_client


def test_logger_writes_one_json_object_per_line(capsys):
    class Context:
        aws_request_id = "ctx-1"

    logger.set_invocation("my_fn", None, Context())
    logger.info(message="saved", item_id=7, tags=["a"])
    logger.warn(message="slow", ms=900)
    logger.error("failed")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    first = json.loads(lines[0])
    assert first["level"] == "INFO"
    assert first["message"] == "saved"
    assert first["item_id"] == 7 and first["tags"] == ["a"]
    assert first["function"] == "my_fn"
    assert first["request_id"] == "ctx-1"
    assert first["timestamp"].endswith("Z")
    assert [json.loads(line)["level"] for line in lines[1:]] == ["WARNING", "ERROR"]
    logger.set_invocation(None)


def test_logger_level_from_log_level(monkeypatch, capsys):
    monkeypatch.setenv("LOG_LEVEL", "warning")
    monkeypatch.setattr(logger, "_logger", None)
    try:
        logger.info(message="hidden")
        logger.warn(message="shown")
        out = capsys.readouterr().out
        assert "hidden" not in out and "shown" in out
    finally:
        monkeypatch.setattr(logger, "_logger", None)
        logging.getLogger("tight").setLevel(logging.INFO)


def test_logger_keeps_unserialisable_fields_readable(capsys):
    logger.info(message="odd", thing=object())
    assert "object object" in json.loads(capsys.readouterr().out)["thing"]


def test_safeget():
    data = {"a": {"b": [{"c": 1}]}, "n": None}
    assert safeget(data, "a", "b", 0, "c") == 1
    assert safeget(data, "a", "x", "c") is None
    assert safeget(data, "a", "b", 5) is None
    assert safeget(data, "n", "deeper", default="d") == "d"
    assert safeget(None, "a") is None
    assert safeget(data) is data


def test_boto3_session_is_created_once_and_replaceable(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    boto3_client.reset()
    first = boto3_client.session()
    assert first is boto3_client.session()
    assert first.region_name == "eu-west-1"
    marker = object()
    boto3_client.set_session(marker)
    assert boto3_client.session() is marker
    boto3_client.reset()
    assert boto3_client.session() is not first


@pytest.mark.parametrize("status", [200, 404, 418, 299, 599])
def test_reason_phrases(status):
    from tight.errors import reason

    assert reason(status)
