import pytest

from store.crypto import DecryptionError, KeyConfigError, Keyring, Secret, aad_for


def test_round_trip_and_binding_to_row():
    keyring = Keyring.generate()
    token = keyring.encrypt("sk-live-123", aad=aad_for("t.c", 1, 7))
    assert "sk-live-123" not in token
    assert keyring.decrypt(token, aad=aad_for("t.c", 1, 7)) == "sk-live-123"
    with pytest.raises(DecryptionError):
        keyring.decrypt(token, aad=aad_for("t.c", 1, 8))  # another row
    with pytest.raises(DecryptionError):
        keyring.decrypt(token, aad=aad_for("t.c", 2, 7))  # another tenant


def test_wrong_or_missing_key_is_a_clear_error():
    token = Keyring.generate("a").encrypt("x", aad="r")
    with pytest.raises(DecryptionError, match="wrong key"):
        Keyring.generate("a").decrypt(token, aad="r")
    with pytest.raises(DecryptionError, match="not configured"):
        Keyring.generate("b").decrypt(token, aad="r")


def test_older_keys_still_decrypt_after_a_new_key_is_added():
    old = Keyring.generate("k1")
    token = old.encrypt("value", aad="r")
    new = old.with_new_key("k2")
    assert new.newest_id == "k2" and new.needs_rotation(token)
    assert new.decrypt(token, aad="r") == "value"
    assert Keyring.from_spec(new.to_spec()).decrypt(token, aad="r") == "value"


@pytest.mark.parametrize("spec", ["", "nokey", "k1:not-base64!!", "k1:" + "A" * 10, "bad id:" + "A" * 43])
def test_malformed_key_specs_are_rejected(spec):
    with pytest.raises(KeyConfigError):
        Keyring.from_spec(spec)


def test_secrets_never_print():
    secret = Secret("sk-live-123")
    assert "sk-live-123" not in repr(secret) + str(secret) + f"{secret}"
    assert secret.reveal() == "sk-live-123"
    assert "sk" not in repr(Keyring.generate())


def test_blind_indexes_cover_every_key():
    old = Keyring.generate("k1")
    new = old.with_new_key("k2")
    assert old.blind_index("v") in new.blind_indexes("v")
    assert new.blind_index("v") == new.blind_indexes("v")[0] != old.blind_index("v")
