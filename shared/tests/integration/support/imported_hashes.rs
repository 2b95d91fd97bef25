//! Password hashes as other systems store them, for the import paths: the
//! shared integration tests and rekeyctl's (cli/tests) include this file.

use base64::Engine;

/// The password behind every imported hash here.
pub const IMPORTED: &str = "Imported-Pass-9!x";

/// A bcrypt hash at the lowest cost, so tests stay fast.
pub fn bcrypt_hash(password: &str) -> String {
    bcrypt::hash(password, 4).unwrap()
}

/// A Django `pbkdf2_sha256$...` hash.
pub fn django_hash(password: &str) -> String {
    let (iterations, salt) = (1000, "s4ltyS4lt");
    let mut derived = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(
        password.as_bytes(),
        salt.as_bytes(),
        iterations,
        &mut derived,
    );
    format!(
        "pbkdf2_sha256${iterations}${salt}${}",
        base64::engine::general_purpose::STANDARD.encode(derived)
    )
}
