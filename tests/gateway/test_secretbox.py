"""Signing secrets at rest: AES-256-GCM blobs, key rotation, and the secrets_key setting."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.config import ConfigError, load_config
from gateway.secretbox import SecretBox, SecretBoxError, generate_key

SECRET = b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_round_trip_and_blob_format() -> None:
    key = generate_key()
    box = SecretBox.from_keys([key])
    blob = box.encrypt(SECRET)
    assert box.enabled
    assert box.decrypt(blob) == SECRET
    assert SECRET not in blob
    # version byte, 12-byte nonce, ciphertext + 16-byte tag: plain AES-256-GCM, nothing custom
    assert blob[0] == 1 and len(blob) == 1 + 12 + len(SECRET) + 16
    aes = AESGCM(base64.b64decode(key))
    assert aes.decrypt(blob[1:13], blob[13:], None) == SECRET


def test_every_encryption_uses_a_fresh_nonce() -> None:
    box = SecretBox.from_keys([generate_key()])
    first, second = box.encrypt(SECRET), box.encrypt(SECRET)
    assert first != second and first[1:13] != second[1:13]


def test_rotation_first_key_encrypts_every_key_decrypts() -> None:
    old, new = generate_key(), generate_key()
    before = SecretBox.from_keys([old]).encrypt(SECRET)

    during = SecretBox.from_keys([new, old])
    assert during.decrypt(before) == SECRET  # sealed under the old key, which is second now
    after = during.encrypt(SECRET)
    assert SecretBox.from_keys([new]).decrypt(after) == SECRET  # sealed under the first key
    with pytest.raises(SecretBoxError):
        SecretBox.from_keys([old]).decrypt(after)
    with pytest.raises(SecretBoxError):  # the old key dropped before re-encryption
        SecretBox.from_keys([new]).decrypt(before)


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[:-1] + bytes([b[-1] ^ 1]),  # tag
        lambda b: b[:20] + bytes([b[20] ^ 1]) + b[21:],  # ciphertext
        lambda b: b[:5] + bytes([b[5] ^ 1]) + b[6:],  # nonce
        lambda b: b"\x02" + b[1:],  # unknown version
        lambda b: b[:28],  # shorter than nonce + tag
        lambda b: b"",
        lambda b: SECRET,  # a plain-text value where a blob belongs
    ],
)
def test_a_damaged_blob_is_a_secretbox_error(damage: Callable[[bytes], bytes]) -> None:
    box = SecretBox.from_keys([generate_key()])
    blob = box.encrypt(SECRET)
    with pytest.raises(SecretBoxError) as caught:
        box.decrypt(damage(blob))
    assert caught.value.status == 500 and SECRET.decode() not in str(caught.value)


def test_without_a_key_the_box_is_disabled() -> None:
    box = SecretBox.from_keys([])
    assert not box.enabled
    with pytest.raises(SecretBoxError, match="HOOKSENTRY_SECRETS_KEY"):
        box.encrypt(SECRET)
    with pytest.raises(SecretBoxError, match="HOOKSENTRY_SECRETS_KEY"):
        box.decrypt(b"\x01" + bytes(40))


SHORT = base64.b64encode(bytes(16)).decode()
BAD_KEYS = [
    (["not base64!"], "entry 1 of 1 is not the base64 of 32 bytes"),
    ([SHORT], "entry 1 of 1 is not the base64 of 32 bytes"),
    ([base64.b64encode(bytes(33)).decode()], "entry 1 of 1"),
    ([base64.b64encode(bytes(32)).decode().rstrip("=")], "entry 1 of 1"),
    ([generate_key(), SHORT], "entry 2 of 2 is not the base64 of 32 bytes"),
]


@pytest.mark.parametrize(("keys", "message"), BAD_KEYS)
def test_a_bad_key_is_a_value_error_naming_the_entry(keys: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        SecretBox.from_keys(keys)
    assert keys[-1] not in str(caught.value)


def test_the_secrets_key_setting() -> None:
    assert load_config({}).secrets_key == ()
    one, two = generate_key(), generate_key()
    config = load_config({"HOOKSENTRY_SECRETS_KEY": f"{one}, {two}"})
    assert config.secrets_key == (one, two)
    box = SecretBox.from_keys(config.secrets_key)
    assert SecretBox.from_keys([two]).decrypt(SecretBox.from_keys([two]).encrypt(b"x")) == b"x"
    assert SecretBox.from_keys([one]).decrypt(box.encrypt(b"x")) == b"x"


@pytest.mark.parametrize(("keys", "message"), BAD_KEYS)
def test_a_bad_secrets_key_stops_the_configuration_naming_it(keys: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"HOOKSENTRY_SECRETS_KEY": ",".join(keys)})
    text = str(caught.value)
    assert text.startswith("HOOKSENTRY_SECRETS_KEY (secrets_key) ") and message in text
    assert "\n" not in text and keys[-1] not in text
