from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("consoles", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="consoleticket",
            name="serial",
            field=models.CharField(
                blank=True, help_text="Serial port of a VM's serial terminal.", max_length=8
            ),
        ),
    ]
