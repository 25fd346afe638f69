from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    operations = [
        migrations.CreateModel(
            name="Live",
            fields=[
                (
                    "id",
                    models.AutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
            ],
            options={
                "verbose_name": "live connections",
                "verbose_name_plural": "live connections",
                "permissions": [("close_connections", "Can close WebSocket connections")],
                "managed": False,
                "default_permissions": (),
            },
        ),
    ]
