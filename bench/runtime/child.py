# ruff: noqa: F821
# Runs inside a fresh interpreter (python -I -S -B -c) whose path is only the deploy folder,
# after apps.LAMBDA_PRELUDE, which imports what Lambda's bootstrap has (json, os, sys, ...)
# and defines Context and clock. argv: mode ("invoke" or "cold"), deploy folder, entry
# "module.attribute", method. Imports nothing more, so that it measures only the app.
mode, folder, entry, method = sys.argv[1:5]
sys.path.insert(0, folder)
os.chdir(folder)

HEADERS = {
    "Accept": "application/json",
    "Accept-Encoding": "gzip, deflate, br",
    "CloudFront-Forwarded-Proto": "https",
    "CloudFront-Is-Desktop-Viewer": "true",
    "CloudFront-Viewer-Country": "DE",
    "Host": "abc123.execute-api.eu-west-1.amazonaws.com",
    "User-Agent": "bench/1.0",
    "Via": "2.0 abc.cloudfront.net (CloudFront)",
    "X-Amzn-Trace-Id": "Root=1-5e66d96f-7491f09xmpl79d18acf3d050",
    "X-Forwarded-For": "203.0.113.9",
    "X-Forwarded-Port": "443",
    "X-Forwarded-Proto": "https",
}
BODY = {"name": "teapot", "size": 3, "tags": ["kitchen", "tea"], "price": 12.5}


def make_event():
    get = method == "GET"
    headers = dict(HEADERS)
    if not get:
        headers["Content-Type"] = "application/json"
    resource = "/items/{item_id}" if get else "/items"
    path = "/items/42" if get else "/items"
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"item_id": "42"} if get else None,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
            "httpMethod": method,
            "identity": {"sourceIp": "203.0.113.9", "userAgent": "bench/1.0"},
            "path": "/prod" + path,
            "protocol": "HTTP/1.1",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "requestTimeEpoch": 1428582896000,
            "resourceId": "123456",
            "resourcePath": resource,
            "stage": "prod",
        },
        "body": None if get else json.dumps(BODY),
        "isBase64Encoded": False,
    }


module_name, attribute = entry.rsplit(".", 1)
event = make_event()
context = Context()

if mode == "cold":
    preloaded = len(sys.modules)
    start = clock()
    handler = getattr(importlib.import_module(module_name), attribute)
    response = handler(event, context)
    elapsed = clock() - start
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "status": response["statusCode"],
                "body": response["body"],
                "modules": len(sys.modules) - preloaded,  # what the cold start loaded
            }
        )
    )
else:
    handler = getattr(importlib.import_module(module_name), attribute)
    response = handler(event, context)
    for _ in range(2000):
        handler(event, context)
    number = int(sys.argv[5]) if len(sys.argv) > 5 else 20000
    best = float("inf")
    for _ in range(7):
        start = clock()
        for _ in range(number):
            handler(event, context)
        best = min(best, (clock() - start) / number)
    print(json.dumps({"seconds": best, "status": response["statusCode"], "body": response["body"]}))
