//! The secrets a deployed function is given by reference. template.yaml
//! names each by its Secrets Manager ARN (`REKEY_SECRET_ID`, ...), so
//! `lambda:GetFunctionConfiguration` shows where a secret lives, never its
//! value; the function reads the values once at init (`secrets_manager`,
//! feature `secrets-manager`) and they stand in for the value variables.
//! Locally (`rekeyctl serve`, `cargo lambda watch`, tests) the value
//! variables are set directly. A function given both a reference and its
//! value refuses to start: which one should win would be a guess, and a
//! stale value shadowing the rotated secret is the failure to avoid.

use super::{ConfigError, Environment};

/// A value variable and the variable that names its secret instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredSecret {
    /// What the code reads (`REKEY_SECRET`).
    pub value: &'static str,
    /// What template.yaml sets (`REKEY_SECRET_ID`): the secret's ARN.
    pub reference: &'static str,
}

/// The secrets template.yaml passes by reference, each read at `AWSCURRENT`.
/// `REKEY_SECRET_PREVIOUS` is the service secret at the stage
/// `REKEY_SECRET_ROTATION` names.
pub const STORED: &[StoredSecret] = &[
    StoredSecret {
        value: "REKEY_SECRET",
        reference: "REKEY_SECRET_ID",
    },
    StoredSecret {
        value: "REKEY_EDGE_SECRET",
        reference: "REKEY_EDGE_SECRET_ID",
    },
    StoredSecret {
        value: "REKEY_WEBHOOK_SECRETS",
        reference: "REKEY_WEBHOOK_SECRETS_ID",
    },
];

/// The rotation phase of the service secret (template.yaml's
/// `SecretRotation`, docs/deploy.md).
pub const ROTATION_VAR: &str = "REKEY_SECRET_ROTATION";
const PREVIOUS_VAR: &str = "REKEY_SECRET_PREVIOUS";

/// A version stage of a Secrets Manager secret. Always named in the
/// request: without one, moto (and a half-finished rotation) can answer
/// another version than the one labelled AWSCURRENT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionStage {
    Current,
    Pending,
    Previous,
}

impl VersionStage {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionStage::Current => "AWSCURRENT",
            VersionStage::Pending => "AWSPENDING",
            VersionStage::Previous => "AWSPREVIOUS",
        }
    }
}

/// One value to read at init: which variable it stands for, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretReference {
    /// The value variable it fills (`REKEY_SECRET_PREVIOUS`).
    pub variable: &'static str,
    /// The variable that named the secret (`REKEY_SECRET_ID`).
    pub named_by: &'static str,
    /// ARN or name, as Secrets Manager's `SecretId` takes it.
    pub secret_id: String,
    pub stage: VersionStage,
    /// Where the previous secret is once the rotation's stage move has
    /// happened: read when `stage` has no version or holds the current
    /// value (see `references`).
    pub fallback: Option<VersionStage>,
}

/// What `vars` asks to read from Secrets Manager (nothing when it names
/// no secret); every conflict between a reference and a value, and a bad
/// rotation phase, is a problem.
///
/// The rotation (docs/deploy.md) must leave every container accepting the
/// old and the new secret from the `pending` deploy to the `none` one,
/// whenever it started, though the operator moves the stages between two
/// deploys. So `pending` accepts AWSPENDING while it holds a value other
/// than AWSCURRENT, and AWSPREVIOUS (the old value, which moving
/// AWSCURRENT labels so) once the move has been made; `previous` accepts
/// AWSPREVIOUS.
pub fn references(vars: &Environment) -> Result<Vec<SecretReference>, ConfigError> {
    let mut env = vars.reader();
    let mut found = Vec::new();
    let both = |reference: &str, value: &str| {
        format!(
            "{reference} and {value} are both set: a deployed function names its secret \
             ({reference}, read from Secrets Manager), a local run gives the value ({value}); \
             unset one"
        )
    };
    for stored in STORED {
        let Some(secret_id) = env.optional(stored.reference) else {
            continue;
        };
        if env.is_set(stored.value) {
            env.problems.push(both(stored.reference, stored.value));
        }
        found.push(SecretReference {
            variable: stored.value,
            named_by: stored.reference,
            secret_id,
            stage: VersionStage::Current,
            fallback: None,
        });
    }
    let service = found.iter().find(|r| r.variable == "REKEY_SECRET").cloned();
    let previous = match env.optional(ROTATION_VAR).as_deref() {
        None | Some("none") => None,
        Some("pending") => Some(VersionStage::Pending),
        Some("previous") => Some(VersionStage::Previous),
        Some(other) => {
            env.problems.push(format!(
                "{ROTATION_VAR}={other:?} is not valid: expected none, pending or previous"
            ));
            None
        }
    };
    match (previous, service) {
        (Some(stage), Some(service)) => {
            if env.is_set(PREVIOUS_VAR) {
                env.problems.push(both(ROTATION_VAR, PREVIOUS_VAR));
            }
            found.push(SecretReference {
                variable: PREVIOUS_VAR,
                stage,
                fallback: (stage == VersionStage::Pending).then_some(VersionStage::Previous),
                ..service
            });
        }
        (Some(_), None) => env.problems.push(format!(
            "{ROTATION_VAR} needs REKEY_SECRET_ID (the rotation's versions are read from the \
             secret it names); locally, set {PREVIOUS_VAR} instead"
        )),
        (None, _) => {}
    }
    env.finish()?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<Vec<SecretReference>, ConfigError> {
        references(&Environment::from_pairs(pairs.iter().copied()))
    }

    const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rekey-AbCdEf";

    #[test]
    fn a_local_run_names_no_secret() {
        assert_eq!(
            read(&[("REKEY_SECRET", "x".repeat(44).as_str())]).unwrap(),
            vec![]
        );
    }

    #[test]
    fn each_reference_is_read_at_awscurrent_and_the_rotation_from_the_service_secret() {
        for (phase, stage) in [
            ("pending", VersionStage::Pending),
            ("previous", VersionStage::Previous),
        ] {
            let found = read(&[
                ("REKEY_SECRET_ID", ARN),
                ("REKEY_WEBHOOK_SECRETS_ID", "rekey/webhooks"),
                (ROTATION_VAR, phase),
            ])
            .unwrap();
            let summary: Vec<_> = found
                .iter()
                .map(|r| (r.variable, r.secret_id.as_str(), r.stage, r.fallback))
                .collect();
            let fallback = (phase == "pending").then_some(VersionStage::Previous);
            assert_eq!(
                summary,
                vec![
                    ("REKEY_SECRET", ARN, VersionStage::Current, None),
                    (
                        "REKEY_WEBHOOK_SECRETS",
                        "rekey/webhooks",
                        VersionStage::Current,
                        None
                    ),
                    ("REKEY_SECRET_PREVIOUS", ARN, stage, fallback),
                ]
            );
        }
        let none = read(&[("REKEY_SECRET_ID", ARN), (ROTATION_VAR, "none")]).unwrap();
        assert_eq!(none.len(), 1);
    }

    #[test]
    fn a_reference_and_its_value_together_refuse_to_start() {
        let e = read(&[
            ("REKEY_SECRET_ID", ARN),
            ("REKEY_SECRET", "stale-local-value-stale-local-value-1234"),
            ("REKEY_EDGE_SECRET_ID", ARN),
            ("REKEY_EDGE_SECRET", "E"),
            (ROTATION_VAR, "previous"),
            (PREVIOUS_VAR, "old-local-value"),
        ])
        .unwrap_err();
        assert_eq!(e.problems.len(), 3, "{e}");
        let text = e.to_string();
        assert!(
            text.contains("REKEY_SECRET_ID and REKEY_SECRET are both set"),
            "{text}"
        );
        assert!(
            !text.contains("stale-local-value"),
            "no value in the error: {text}"
        );
    }

    #[test]
    fn a_rotation_needs_the_secret_it_rotates_and_a_known_phase() {
        let e = read(&[(ROTATION_VAR, "pending")]).unwrap_err();
        assert!(e.to_string().contains("needs REKEY_SECRET_ID"), "{e}");
        let e = read(&[("REKEY_SECRET_ID", ARN), (ROTATION_VAR, "later")]).unwrap_err();
        assert!(
            e.to_string().contains("expected none, pending or previous"),
            "{e}"
        );
    }
}
