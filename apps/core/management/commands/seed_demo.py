from django.core.management.base import BaseCommand

from apps.core.demo import seed_demo


class Command(BaseCommand):
    help = "Create or reset the demo accounts of the embedded setup (idempotent)."

    def handle(self, *args: object, **options: object) -> None:
        for login in seed_demo():
            self.stdout.write(f"{login.userid} / {login.password}  ({login.role})")
