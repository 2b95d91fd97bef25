//! The token and revocation endpoints' request: an
//! `application/x-www-form-urlencoded` body (RFC 6749 3.2, RFC 7009 2.1)
//! and the client's credentials, in HTTP Basic or in the body.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lambda_http::Request;
use zeroize::Zeroizing;

use crate::config::{ClientAuthMethod, PresentedClient};
use crate::error::{ResetError, TokenRefusal};
use crate::http::{self, MAX_BODY_BYTES, RequestError};

use super::super::Failure;

/// Whether the body is declared `application/x-www-form-urlencoded` (a
/// `charset` or other parameter allowed).
pub(crate) fn is_form(req: &Request) -> bool {
    req.headers()
        .get(::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// The body's parameters, each at most once. Values are zeroized on drop:
/// they hold passwords, secrets and tokens.
pub(super) struct Form(BTreeMap<String, Zeroizing<String>>);

impl Form {
    /// Reads the body: another media type, a parameter twice, bad
    /// percent-encoding or UTF-8 are `invalid_request`, never naming a value.
    pub(super) fn read(req: &Request) -> Result<Self, RequestError> {
        if !is_form(req) {
            return Err(RequestError::invalid(
                "Content-Type",
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        let bytes = http::body_bytes(req);
        if bytes.len() > MAX_BODY_BYTES {
            return Err(RequestError::PayloadTooLarge);
        }
        if !is_strict_form_encoding(bytes) {
            return Err(malformed());
        }
        let mut params = BTreeMap::new();
        for (name, value) in url::form_urlencoded::parse(bytes) {
            let name = name.into_owned();
            let value = Zeroizing::new(value.into_owned());
            if params.contains_key(name.as_str()) {
                return Err(RequestError::invalid(
                    printable(&name),
                    format!("the parameter {} is given more than once", printable(&name)),
                ));
            }
            // Kept even when empty, so a repeat is still refused; `get`
            // treats an empty value as omitted (RFC 6749 3.1).
            params.insert(name, value);
        }
        Ok(Self(params))
    }

    /// The parameter's value; None when absent or empty.
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(|v| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// A parameter that must be there.
    pub(super) fn required(&self, name: &str) -> Result<&str, RequestError> {
        self.get(name)
            .ok_or_else(|| RequestError::invalid(name, format!("the parameter {name} is missing")))
    }

    /// The client's identity as presented: HTTP Basic, else
    /// `client_id` with `client_secret` in the body, else `client_id`
    /// alone (a public client). Using two methods is `invalid_request`.
    pub(super) fn client(&self, req: &Request) -> Result<PresentedClient, Failure> {
        let basic = req
            .headers()
            .get(::http::header::AUTHORIZATION)
            .map(|v| v.to_str().ok().and_then(basic_credentials));
        let body_id = self.get("client_id");
        let body_secret = self.get("client_secret");
        match basic {
            Some(None) => {
                Err(ResetError::Token(TokenRefusal::InvalidClient { basic: true }).into())
            }
            Some(Some((id, secret))) => {
                if body_secret.is_some() || body_id.is_some_and(|b| b != id) {
                    return Err(RequestError::invalid(
                        "client_secret",
                        "use one client authentication method, not several",
                    )
                    .into());
                }
                Ok(PresentedClient {
                    id,
                    secret: Some(secret),
                    method: ClientAuthMethod::ClientSecretBasic,
                })
            }
            None => {
                let id = body_id.ok_or(ResetError::Token(TokenRefusal::InvalidClient {
                    basic: false,
                }))?;
                Ok(PresentedClient {
                    id: id.to_string(),
                    secret: body_secret.map(|s| Zeroizing::new(s.to_string())),
                    method: if body_secret.is_some() {
                        ClientAuthMethod::ClientSecretPost
                    } else {
                        ClientAuthMethod::None
                    },
                })
            }
        }
    }
}

fn malformed() -> RequestError {
    RequestError::invalid(
        "body",
        "the body is not valid form encoding (UTF-8, percent-encoded)",
    )
}

/// A parameter name as an error may show it: known names only.
fn printable(name: &str) -> &str {
    const KNOWN: &[&str] = &[
        "grant_type",
        "username",
        "password",
        "refresh_token",
        "scope",
        "client_id",
        "client_secret",
        "token",
        "token_type_hint",
    ];
    KNOWN
        .iter()
        .find(|k| **k == name)
        .copied()
        .unwrap_or("(other)")
}

/// Whether `raw` is form encoding `form_urlencoded` decodes without
/// guessing: every `%` followed by two hex digits (`%+5` or `%4` is not an
/// escape; the parser would keep it as text), and the decoded bytes UTF-8
/// (the parser would replace bad ones). `&`, `=` and `+` are ASCII, so the
/// whole body is UTF-8 exactly when each name and value is.
fn is_strict_form_encoding(raw: &[u8]) -> bool {
    let escapes_ok = raw.iter().enumerate().all(|(i, b)| {
        *b != b'%'
            || raw
                .get(i + 1..i + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    escapes_ok && percent_encoding::percent_decode(raw).decode_utf8().is_ok()
}

/// One form-encoded component (no `&` or `=` split): `+` is a space, `%XX`
/// a byte; None for a bad escape or bytes that are not UTF-8.
fn decode(raw: &[u8]) -> Option<String> {
    if !is_strict_form_encoding(raw) {
        return None;
    }
    let spaced: Vec<u8> = raw
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    percent_encoding::percent_decode(&spaced)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// RFC 6749 2.3.1: `Basic base64(urlencode(id) ":" urlencode(secret))`.
fn basic_credentials(header: &str) -> Option<(String, Zeroizing<String>)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = Zeroizing::new(STANDARD.decode(encoded.trim()).ok()?);
    let colon = decoded.iter().position(|b| *b == b':')?;
    let id = decode(&decoded[..colon])?;
    let secret = Zeroizing::new(decode(&decoded[colon + 1..])?);
    (!id.is_empty()).then_some((id, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(content_type: &str, body: &str) -> Result<Form, RequestError> {
        let req = ::http::Request::builder()
            .header("content-type", content_type)
            .body(lambda_http::Body::Text(body.into()))
            .unwrap();
        Form::read(&req)
    }

    #[test]
    fn reads_form_bodies_only() {
        let f = form(
            "application/x-www-form-urlencoded; charset=UTF-8",
            "grant_type=password&username=ada%40example.com&password=a+b%2Bc&scope=",
        )
        .unwrap();
        assert_eq!(f.get("username"), Some("ada@example.com"));
        assert_eq!(f.get("password"), Some("a b+c"));
        assert_eq!(f.get("scope"), None);
        assert!(f.required("scope").is_err());
        for (ct, body) in [
            ("application/json", r#"{"grant_type":"password"}"#),
            ("text/plain", "grant_type=password"),
            ("application/x-www-form-urlencoded", "a=1&a=2"),
            ("application/x-www-form-urlencoded", "a=%zz"),
            ("application/x-www-form-urlencoded", "a=%ff"),
            ("application/x-www-form-urlencoded", "a=%4"),
        ] {
            assert!(form(ct, body).is_err(), "{ct} {body}");
        }
    }

    /// A sign is not a hex digit: `%+5` is no escape (the hand-written
    /// decoder this replaced read it as the byte 0x05), nor `%-1` or `% 5`.
    #[test]
    fn an_escape_is_a_percent_and_two_hex_digits() {
        for body in ["a=%+5", "a=%-1", "a=%+F", "a=%%41", "a=%%", "a=b%", "%+5=a"] {
            assert!(
                form("application/x-www-form-urlencoded", body).is_err(),
                "{body}"
            );
        }
        assert!(decode(b"%+5").is_none());
        let f = form(
            "application/x-www-form-urlencoded",
            "a=%41%c3%a9+%2B&b=%e2%82%ac",
        )
        .unwrap();
        assert_eq!(f.get("a"), Some("A\u{e9} +"));
        assert_eq!(f.get("b"), Some("\u{20ac}"));
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let header = format!("Basic {}", STANDARD.encode("my%20app:s%3Acret"));
        let (id, secret) = basic_credentials(&header).unwrap();
        assert_eq!((id.as_str(), secret.as_str()), ("my app", "s:cret"));
        for bad in [
            "Bearer x",
            "Basic !!!",
            "Basic",
            &format!("Basic {}", STANDARD.encode("nocolon")),
        ] {
            assert!(basic_credentials(bad).is_none(), "{bad}");
        }
    }
}
