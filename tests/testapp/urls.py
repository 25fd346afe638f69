from django.urls import path

from . import views

urlpatterns = [
    path("broadcast/", views.broadcast),
    path("slow/", views.slow),
    path("hello/", views.hello),
]
