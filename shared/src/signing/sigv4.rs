//! AWS Signature Version 4 for one shape of request: a POST of a JSON body
//! to `/` with no query, as the AWS JSON protocols send. What the small KMS
//! client ([`super::kms_keys`]) signs with, so the functions that only read
//! public keys need no AWS SDK. The tests compare it with `aws-sigv4`.

use hmac::Mac;
use sha2::{Digest, Sha256};

/// The credentials a request is signed with.
#[derive(Clone)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: secrecy::SecretString,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Where and when a request is signed.
pub struct Scope<'a> {
    pub region: &'a str,
    pub service: &'a str,
    /// `YYYYMMDD'T'HHMMSS'Z'`, the `x-amz-date` header.
    pub amz_date: &'a str,
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = crate::crypto::hmac_sha256(key);
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// `x-amz-date` for `unix` seconds.
pub fn amz_date(unix: i64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The headers to send for a POST of `body` to `/` on `host`: `headers`
/// (lower-case names) plus `host`, `x-amz-date`, `x-amz-security-token`
/// when there is a session token, and `authorization`, all signed.
pub fn sign_post(
    credentials: &AwsCredentials,
    scope: &Scope<'_>,
    host: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<(String, String)> {
    use secrecy::ExposeSecret;
    let mut signed: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string()))
        .chain([
            ("host".to_string(), host.to_string()),
            ("x-amz-date".to_string(), scope.amz_date.to_string()),
        ])
        .chain(
            credentials
                .session_token
                .iter()
                .map(|t| ("x-amz-security-token".to_string(), t.clone())),
        )
        .collect();
    signed.sort();
    let canonical_headers: String = signed.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed_names = signed
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical_request = format!(
        "POST\n/\n\n{canonical_headers}\n{signed_names}\n{}",
        hex::encode(Sha256::digest(body))
    );
    let date = &scope.amz_date[..8];
    let credential_scope = format!("{date}/{}/{}/aws4_request", scope.region, scope.service);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{credential_scope}\n{}",
        scope.amz_date,
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let secret = format!("AWS4{}", credentials.secret_access_key.expose_secret());
    let key = [scope.region, scope.service, "aws4_request"]
        .iter()
        .fold(hmac(secret.as_bytes(), date.as_bytes()), |key, part| {
            hmac(&key, part.as_bytes())
        });
    let signature = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    signed.push((
        "authorization".to_string(),
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{credential_scope}, SignedHeaders={signed_names}, Signature={signature}",
            credentials.access_key_id
        ),
    ));
    signed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_basic_iso_8601_in_utc() {
        assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(amz_date(0), "19700101T000000Z");
    }
}
