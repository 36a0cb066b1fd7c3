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


def test_an_unknown_log_level_is_said_in_the_log_not_swallowed(monkeypatch, capsys):
    monkeypatch.setenv("LOG_LEVEL", "LOUD")
    monkeypatch.setattr(logger, "_logger", None)
    try:
        logger.debug(message="hidden")
        logger.info(message="shown")
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [line["level"] for line in lines] == ["ERROR", "INFO"]
        assert "LOG_LEVEL 'LOUD' is not a log level" in lines[0]["message"]
        assert "DEBUG, INFO, WARNING, ERROR, CRITICAL" in lines[0]["message"]
        assert lines[1]["message"] == "shown"
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


def test_a_plain_function_logs_with_its_name_and_lambdas_request_id(capsys):
    """``serve_as(name, None, context)`` is all a non-HTTP function needs to do."""
    from tight.providers.aws.controllers import lambda_proxy_event

    class Context:
        aws_request_id = "8f5a2e3c-lambda"

    lambda_proxy_event.serve_as("worker", None, Context())
    try:
        logger.info(message="batch done", records=3)
        assert logger.current_request_id() == "8f5a2e3c-lambda"
    finally:
        lambda_proxy_event.serve_as(None)
    line = json.loads(capsys.readouterr().out)
    assert (line["function"], line["request_id"]) == ("worker", "8f5a2e3c-lambda")
    assert "gateway_request_id" not in line
    logger.info(message="between invocations")
    idle = json.loads(capsys.readouterr().out)
    assert (idle["function"], idle["request_id"]) == (None, None)


def test_a_context_without_a_string_request_id_logs_null(capsys):
    class Odd:
        aws_request_id = 12345

    logger.set_invocation("fn", None, Odd())
    try:
        logger.info(message="x")
    finally:
        logger.set_invocation(None)
    assert json.loads(capsys.readouterr().out)["request_id"] is None


def test_errors_module_says_what_it_is_for():
    from tight import errors

    assert errors.__doc__ is not None
    assert errors.__doc__.startswith("HTTP errors a handler can raise")
