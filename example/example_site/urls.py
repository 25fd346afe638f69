from django.contrib import admin
from django.urls import path

from demo import views

urlpatterns = [
    path("", views.home, name="home"),
    path("echo/", views.echo, name="echo"),
    path("chat/", views.chat, name="chat"),
    path("progress/", views.progress, name="progress"),
    path("admin/", admin.site.urls),
]
