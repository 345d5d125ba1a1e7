from omniroute.channels.email.signing import signature_header, verify

BODY = b"From: lee@example.com\r\n\r\nhi\r\n"


def test_valid_tampered_stale_and_missing_signatures() -> None:
    header = signature_header("secret", BODY, 1_000)
    assert verify("secret", BODY, header, 1_010) is None
    assert verify("secret", BODY + b"x", header, 1_010) == "signature does not match"
    assert verify("other", BODY, header, 1_010) == "signature does not match"
    assert verify("secret", BODY, header, 1_400) == "signature timestamp outside the 5-minute tolerance"
    assert verify("secret", BODY, None, 1_000) == "missing Omniroute-Signature header"
    assert verify("secret", BODY, "t=abc,v1=00", 1_000) == "malformed signature timestamp"
