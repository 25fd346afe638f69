"""Views the tests call over HTTP through the Tornado server."""

import threading

from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from .sockets import ws_views

slow_view_release = threading.Event()
slow_view_entered = threading.Event()


@csrf_exempt
def broadcast(request):
    """Emit to every socket of /ws/views from a view (a worker thread)."""
    ws_views.emit("from_view", {"text": request.POST.get("text", "")})
    return JsonResponse({"sent": True})


def slow(request):
    """Block until the test releases it (bounded), to prove views do not stall the loop."""
    slow_view_entered.set()
    released = slow_view_release.wait(timeout=30)
    return HttpResponse("released" if released else "timed out")


def hello(request):
    return HttpResponse("hello from django")


def sleep(request):
    """Answer after ``?seconds=`` (a request in flight during a shutdown)."""
    import time

    print("sleep view entered", flush=True)
    time.sleep(float(request.GET.get("seconds", "1")))
    return HttpResponse("slept")


def whereami(request):
    """What Django sees of the client: its address and the scheme."""
    return JsonResponse({"remote_addr": request.META["REMOTE_ADDR"], "scheme": request.scheme})


@csrf_exempt
def body_length(request):
    return HttpResponse(str(len(request.body)))


@csrf_exempt
def echo(request, rest):
    """What Django sees of the request: the WSGI environ's keys the tests check, and the body."""
    keys = ("REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "CONTENT_TYPE", "CONTENT_LENGTH")
    meta = {key: request.META.get(key) for key in keys}
    meta.update({k: v for k, v in request.META.items() if k.startswith("HTTP_X_")})
    meta.update(SERVER_NAME=request.META["SERVER_NAME"], SERVER_PORT=request.META["SERVER_PORT"])
    return JsonResponse({"meta": meta, "rest": rest, "body": request.body.decode()})


def stream(request):
    """A streaming response of ``?parts=`` parts."""
    parts = int(request.GET.get("parts", "3"))
    return StreamingHttpResponse(f"part {n};" for n in range(parts))
