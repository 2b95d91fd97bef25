//! Verifying the access tokens [`super::jwt`] signs, as a resource server
//! must: RS256 only, under one of the keys the signer publishes, from this
//! issuer, for one of our audiences, unexpired. Verification needs only the
//! public key; ring (already linked for TLS) checks the PKCS#1 v1.5
//! signature, so no JWT or RSA crate comes with it.
//!
//! Every check fails closed and the same way ([`TokenRejected`] carries no
//! reason a caller sees): what to verify with is decided here from the
//! published keys, never from the token's header (no `jku`, `jwk` or `x5u`
//! is followed, and `alg` must be exactly `RS256`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use super::PublishedKey;

/// Clock skew tolerated on `exp` and `iat`, in seconds: KMS signs in AWS,
/// whose clocks agree to well under a second, and a local signer shares
/// the verifier's clock, so this only covers a token verified on another
/// machine a moment after it was made.
pub const LEEWAY_SECS: i64 = 30;

/// Longest token looked at: an RS256 access token is well under 2 KiB.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Why a token was refused. Logged as a reason code at most; the client is
/// only ever told `invalid_token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejected {
    #[error("not a compact JWS")]
    Malformed,
    #[error("header: not RS256 at+jwt, or a critical extension")]
    Header,
    #[error("kid is not a published key")]
    UnknownKey,
    #[error("signature does not verify")]
    Signature,
    #[error("claims missing or of the wrong type")]
    Claims,
    #[error("another issuer")]
    Issuer,
    #[error("not for this audience")]
    Audience,
    #[error("expired")]
    Expired,
    #[error("issued in the future")]
    NotYetValid,
}

/// What a verified access token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    pub sub: String,
    /// The credential version it was issued under.
    pub ver: u64,
    pub client_id: Option<String>,
    pub scope: Option<String>,
    pub exp: i64,
}

/// What the token must match: issuer, audiences and the time now.
pub struct Expectations<'a> {
    pub issuer: &'a str,
    pub audiences: &'a [String],
    pub now: i64,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    typ: Option<String>,
    kid: Option<String>,
    /// RFC 7515 4.1.11: extensions the verifier must understand; rekey
    /// understands none.
    crit: Option<serde::de::IgnoredAny>,
}

/// `aud` is a string or an array of strings (RFC 7519 4.1.3).
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: Audience,
    exp: i64,
    iat: i64,
    ver: u64,
    client_id: Option<String>,
    scope: Option<String>,
}

fn decode_part(part: &str) -> Result<Vec<u8>, TokenRejected> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenRejected::Malformed)
}

/// `typ` is `at+jwt`, or `application/at+jwt` (RFC 7515 4.1.9 lets the
/// `application/` prefix be dropped, so both name the same type).
fn is_access_token_type(typ: &str) -> bool {
    let typ = typ.to_ascii_lowercase();
    typ == "at+jwt" || typ == "application/at+jwt"
}

/// Verifies `token` against `keys` (the current, next and previous keys
/// the signer publishes) and `expect`; the claims once every check passed.
pub fn verify_access_token(
    token: &str,
    keys: &[PublishedKey],
    expect: &Expectations<'_>,
) -> Result<VerifiedToken, TokenRejected> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenRejected::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenRejected::Malformed);
    };
    let header: Header =
        serde_json::from_slice(&decode_part(header_b64)?).map_err(|_| TokenRejected::Malformed)?;
    if header.alg != "RS256"
        || !header.typ.as_deref().is_some_and(is_access_token_type)
        || header.crit.is_some()
    {
        return Err(TokenRejected::Header);
    }
    let kid = header.kid.ok_or(TokenRejected::UnknownKey)?;
    let key = keys
        .iter()
        .find(|k| k.key.thumbprint() == kid)
        .ok_or(TokenRejected::UnknownKey)?;
    let signature = decode_part(signature_b64)?;
    let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
    ring::signature::RsaPublicKeyComponents {
        n: &key.key.n,
        e: &key.key.e,
    }
    .verify(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        signing_input.as_bytes(),
        &signature,
    )
    .map_err(|_| TokenRejected::Signature)?;

    // Only a signed payload is parsed.
    let claims: Claims =
        serde_json::from_slice(&decode_part(payload_b64)?).map_err(|_| TokenRejected::Claims)?;
    if claims.iss != expect.issuer {
        return Err(TokenRejected::Issuer);
    }
    let for_us = |aud: &String| expect.audiences.contains(aud);
    let audience_ok = match &claims.aud {
        Audience::One(aud) => for_us(aud),
        Audience::Many(auds) => auds.iter().any(for_us),
    };
    if !audience_ok {
        return Err(TokenRejected::Audience);
    }
    if claims.exp + LEEWAY_SECS <= expect.now {
        return Err(TokenRejected::Expired);
    }
    if claims.iat > expect.now + LEEWAY_SECS {
        return Err(TokenRejected::NotYetValid);
    }
    Ok(VerifiedToken {
        sub: claims.sub,
        ver: claims.ver,
        client_id: claims.client_id,
        scope: claims.scope,
        exp: claims.exp,
    })
}

#[cfg(test)]
#[cfg(feature = "local-signer")]
mod tests {
    use super::*;
    use crate::access_token::jwt::sign_access_token;
    use crate::access_token::local::LocalSigner;
    use crate::access_token::{AccessClaims, AccessTokenSigner};

    fn claims(now: i64) -> AccessClaims {
        AccessClaims {
            iss: "https://id.example".into(),
            sub: "user-1".into(),
            aud: "rekey".into(),
            exp: now + 600,
            iat: now,
            jti: "j".into(),
            client_id: "rekey".into(),
            scope: "account".into(),
            ver: 4,
        }
    }

    fn encode(value: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    #[tokio::test]
    async fn each_check_refuses_its_own_failure() {
        let signer = LocalSigner::ephemeral().unwrap();
        let keys = signer.published_keys().await.unwrap();
        let now = crate::clock::Clock::now(&crate::clock::SystemClock).secs();
        let audiences = vec!["rekey".to_string(), "other".to_string()];
        let expect = Expectations {
            issuer: "https://id.example",
            audiences: &audiences,
            now,
        };
        let sign = |c: AccessClaims| {
            let signer = &signer;
            async move { sign_access_token(signer, &c).await.unwrap() }
        };
        let good = sign(claims(now)).await;
        let verified = verify_access_token(&good, &keys, &expect).unwrap();
        assert_eq!((verified.sub.as_str(), verified.ver), ("user-1", 4));

        let cases = [
            (
                AccessClaims {
                    iss: "https://evil.example".into(),
                    ..claims(now)
                },
                TokenRejected::Issuer,
            ),
            (
                AccessClaims {
                    aud: "elsewhere".into(),
                    ..claims(now)
                },
                TokenRejected::Audience,
            ),
            (
                AccessClaims {
                    exp: now - LEEWAY_SECS,
                    ..claims(now)
                },
                TokenRejected::Expired,
            ),
            (
                AccessClaims {
                    iat: now + LEEWAY_SECS + 5,
                    ..claims(now)
                },
                TokenRejected::NotYetValid,
            ),
        ];
        for (c, why) in cases {
            assert_eq!(
                verify_access_token(&sign(c).await, &keys, &expect),
                Err(why)
            );
        }
        // Within the leeway an expiry just past still verifies.
        let late = sign(AccessClaims {
            exp: now - LEEWAY_SECS + 5,
            ..claims(now)
        })
        .await;
        assert!(verify_access_token(&late, &keys, &expect).is_ok());

        // The payload swapped for another (a different sub) under the same
        // header and signature.
        let (header, rest) = good.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        let mut forged = serde_json::to_value(claims(now)).unwrap();
        forged["sub"] = "admin".into();
        let tampered = format!("{header}.{}.{signature}", encode(&forged));
        assert_eq!(
            verify_access_token(&tampered, &keys, &expect),
            Err(TokenRejected::Signature)
        );

        let kid = signer.key_id().await.unwrap();
        let payload = encode(&serde_json::to_value(claims(now)).unwrap());
        for (header, why) in [
            (
                serde_json::json!({"alg": "none", "typ": "at+jwt", "kid": kid}),
                TokenRejected::Header,
            ),
            (
                serde_json::json!({"alg": "HS256", "typ": "at+jwt", "kid": kid}),
                TokenRejected::Header,
            ),
            (
                serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": kid}),
                TokenRejected::Header,
            ),
            (
                serde_json::json!({"alg": "RS256", "typ": "at+jwt", "kid": kid, "crit": ["exp"]}),
                TokenRejected::Header,
            ),
            (
                serde_json::json!({"alg": "RS256", "typ": "at+jwt", "kid": "not-ours"}),
                TokenRejected::UnknownKey,
            ),
            (
                serde_json::json!({"alg": "RS256", "typ": "at+jwt"}),
                TokenRejected::UnknownKey,
            ),
        ] {
            let token = format!("{}.{payload}.{signature}", encode(&header));
            assert_eq!(verify_access_token(&token, &keys, &expect), Err(why));
        }
        for junk in [
            "",
            "a.b",
            "a.b.c.d",
            "!!.??.##",
            &"a".repeat(MAX_TOKEN_BYTES + 1),
        ] {
            assert_eq!(
                verify_access_token(junk, &keys, &expect),
                Err(TokenRejected::Malformed),
                "{:.20}",
                junk
            );
        }
        // Another signer's key is not published here.
        let stranger = LocalSigner::ephemeral().unwrap();
        let theirs = sign_access_token(&stranger, &claims(now)).await.unwrap();
        assert_eq!(
            verify_access_token(&theirs, &keys, &expect),
            Err(TokenRejected::UnknownKey)
        );
    }
}
