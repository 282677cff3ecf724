"""The password hasher the test run uses: the project's Argon2 (same library, same
`argon2$argon2id$...` encoding, same verify path) at the smallest cost Argon2 allows, so
the ~0.2-0.4 s each factory-made member cost at the production parameters (100 MiB,
8 lanes on a 2-core machine) leaves the run. Production's parameters are exercised by the
tests that ask for tests.conftest.PRODUCTION_PASSWORD_HASHERS."""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class CheapArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 1
    memory_cost = 64  # KiB; Argon2's floor is 8 per lane
    parallelism = 1
