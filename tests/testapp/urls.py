from django.contrib.auth.views import LoginView, LogoutView
from django.urls import path

from . import views

urlpatterns = [
    path("broadcast/", views.broadcast),
    path("slow/", views.slow),
    path("hello/", views.hello),
    path("body_length/", views.body_length),
    path("sleep/", views.sleep),
    path("whereami/", views.whereami),
    path("echo/<path:rest>", views.echo),
    path("stream/", views.stream),
    path("login/", LoginView.as_view(template_name="testapp/login.html")),
    path("logout/", LogoutView.as_view()),
]
