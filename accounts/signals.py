from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.models import User
from accounts.services import create_personal_workspace


@receiver(post_save, sender=User)
def give_new_user_a_workspace(sender, instance: User, created: bool, raw: bool = False, **kwargs):
    if created and not raw:
        create_personal_workspace(instance)
