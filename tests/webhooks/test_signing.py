import base64

from standardwebhooks import Webhook

from webhooks.signing import new_secret, sign, signature_header


def test_the_published_test_vector() -> None:
    signature = sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )

    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_secrets_are_whsec_with_at_least_24_random_bytes() -> None:
    secret = new_secret()

    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    assert new_secret() != secret


def test_two_live_secrets_give_two_entries_each_verifiable() -> None:
    old, new = new_secret(), new_secret()
    body = b'{"id":"evt_1"}'
    import time

    timestamp = int(time.time())
    header = signature_header([new, old], "evt_1", timestamp, body)
    headers = {
        "webhook-id": "evt_1",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": header,
    }

    assert len(header.split(" ")) == 2
    assert Webhook(new).verify(body, headers) == {"id": "evt_1"}
    assert Webhook(old).verify(body, headers) == {"id": "evt_1"}
