//! The secrets template.yaml names by ARN (`config::stored_secrets`), read
//! from AWS Secrets Manager once, at init, and kept for the container's
//! life: a function's configuration then shows where its secrets live,
//! never their values. One `GetSecretValue` per secret and stage, all at
//! once, each naming its `VersionStage` (moto's UpdateSecretVersionStage
//! leaves the unstaged default on the old version; AWS's stages are what
//! the rotation scheme is written in; `config::stored_secrets::references`
//! says which stage a rotation phase accepts). A secret that cannot be read stops
//! the start with a message naming the variable, the secret and the
//! stage, never a value.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;

use crate::config::stored_secrets::{self, SecretReference};
use crate::config::{AwsEnvironment, ConfigError, Environment};

/// Why a secret was not read; each says what the operator checks.
#[derive(Debug, thiserror::Error)]
pub enum SecretReadError {
    #[error(
        "{named_by}: Secrets Manager has no version of {secret_id} at {stage} (check the ARN, \
         and for a rotation phase that the stage exists: docs/deploy.md)"
    )]
    NotFound {
        named_by: &'static str,
        secret_id: String,
        stage: &'static str,
    },
    #[error(
        "{named_by}: the function's role may not read {secret_id} ({code}): it needs \
         secretsmanager:GetSecretValue on that ARN (and kms:Decrypt if a customer managed key \
         encrypts it)"
    )]
    Forbidden {
        named_by: &'static str,
        secret_id: String,
        code: String,
    },
    #[error("{named_by}: {secret_id} at {stage} holds no SecretString (a binary secret?)")]
    NotText {
        named_by: &'static str,
        secret_id: String,
        stage: &'static str,
    },
    #[error(
        "{named_by}: Secrets Manager did not give {secret_id} at {stage}, so the function \
         cannot start: {cause}"
    )]
    Unavailable {
        named_by: &'static str,
        secret_id: String,
        stage: &'static str,
        cause: String,
    },
}

/// Secrets Manager as the functions read it.
#[derive(Clone, Debug)]
pub struct SecretsManager {
    client: Client,
}

impl SecretsManager {
    /// Region, credentials and `AWS_ENDPOINT_URL[_SECRETS_MANAGER]` from
    /// the environment (`aws::environment_sdk_config`). No network.
    pub fn from_settings(aws: &AwsEnvironment) -> Self {
        let config = crate::aws::environment_sdk_config(aws, "SECRETS_MANAGER");
        Self {
            client: Client::new(&config),
        }
    }

    /// The `SecretString` of one secret at one stage.
    pub async fn read(&self, reference: &SecretReference) -> Result<String, SecretReadError> {
        let stage = reference.stage.as_str();
        let named_by = reference.named_by;
        let secret_id = || reference.secret_id.clone();
        let answer = self
            .client
            .get_secret_value()
            .secret_id(&reference.secret_id)
            .version_stage(stage)
            .send()
            .await;
        match answer {
            Ok(output) => output
                .secret_string
                .ok_or_else(|| SecretReadError::NotText {
                    named_by,
                    secret_id: secret_id(),
                    stage,
                }),
            Err(e) => Err(classify(e, reference)),
        }
    }
}

/// What a failed `GetSecretValue` tells the operator.
fn classify<R: std::fmt::Debug>(
    e: SdkError<GetSecretValueError, R>,
    reference: &SecretReference,
) -> SecretReadError {
    let named_by = reference.named_by;
    let secret_id = reference.secret_id.clone();
    let stage = reference.stage.as_str();
    if e.as_service_error()
        .is_some_and(GetSecretValueError::is_resource_not_found_exception)
    {
        return SecretReadError::NotFound {
            named_by,
            secret_id,
            stage,
        };
    }
    match e.code() {
        Some(code @ ("AccessDeniedException" | "AccessDenied" | "KMSAccessDeniedException")) => {
            SecretReadError::Forbidden {
                named_by,
                secret_id,
                code: code.to_string(),
            }
        }
        _ => SecretReadError::Unavailable {
            named_by,
            secret_id,
            stage,
            cause: DisplayErrorContext(&e).to_string(),
        },
    }
}

/// `vars` with every secret it names read from Secrets Manager in place
/// of the value variables (`config::stored_secrets`); `vars` unchanged
/// when it names none (a local run, which sets the values). Every secret
/// that cannot be read is one problem of the error.
pub async fn resolve(vars: Environment) -> Result<Environment, ConfigError> {
    let references = stored_secrets::references(&vars)?;
    if references.is_empty() {
        return Ok(vars);
    }
    let mut env = vars.reader();
    let aws = AwsEnvironment::read(&mut env);
    env.finish()?;
    let store = SecretsManager::from_settings(&aws);
    let mut reads = tokio::task::JoinSet::new();
    for (at, reference) in references.iter().cloned().enumerate() {
        let store = store.clone();
        reads.spawn(async move { (at, store.read(&reference).await) });
    }
    let mut answers: Vec<Option<Result<String, SecretReadError>>> =
        references.iter().map(|_| None).collect();
    let mut problems = Vec::new();
    while let Some(joined) = reads.join_next().await {
        match joined {
            Ok((at, answer)) => answers[at] = Some(answer),
            Err(e) => problems.push(format!("a Secrets Manager read did not finish: {e}")),
        }
    }
    let current = references
        .iter()
        .zip(&answers)
        .find(|(r, _)| r.variable == "REKEY_SECRET")
        .and_then(|(_, a)| a.as_ref()?.as_ref().ok().cloned());
    let mut values = Vec::with_capacity(references.len());
    for (reference, answer) in references.iter().zip(answers) {
        let answer = match (answer, reference.fallback) {
            // The stage moved (or was never there): the old value now sits
            // at the fallback stage. One more call, only in that window.
            (Some(answer), Some(fallback)) if stage_moved(&answer, current.as_deref()) => {
                let moved = SecretReference {
                    stage: fallback,
                    fallback: None,
                    ..reference.clone()
                };
                Some(store.read(&moved).await)
            }
            (answer, _) => answer,
        };
        match answer {
            Some(Ok(value)) => values.push((reference.variable, value)),
            Some(Err(e)) => problems.push(e.to_string()),
            None => {}
        }
    }
    if !problems.is_empty() {
        problems.sort();
        return Err(ConfigError { problems });
    }
    Ok(vars.with_values(values))
}

/// Whether a rotation's stage answered nothing of its own: no version
/// there, or the current value (AWSPENDING still on the version just made
/// current).
fn stage_moved(answer: &Result<String, SecretReadError>, current: Option<&str>) -> bool {
    match answer {
        Err(SecretReadError::NotFound { .. }) => true,
        Ok(value) => current == Some(value.as_str()),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::stored_secrets::VersionStage;
    use aws_sdk_secretsmanager::error::ErrorMetadata;

    fn reference() -> SecretReference {
        SecretReference {
            variable: "REKEY_SECRET",
            named_by: "REKEY_SECRET_ID",
            secret_id: "arn:aws:secretsmanager:us-east-1:123456789012:secret:rekey-AbCdEf".into(),
            stage: VersionStage::Current,
            fallback: None,
        }
    }

    /// An error as the SDK builds it from a service's answer.
    fn service_error(code: &str) -> SdkError<GetSecretValueError, ()> {
        let meta = ErrorMetadata::builder()
            .code(code)
            .message("denied")
            .build();
        SdkError::service_error(GetSecretValueError::generic(meta), ())
    }

    #[test]
    fn a_denied_read_names_the_permission_the_role_lacks() {
        let e = classify(service_error("AccessDeniedException"), &reference());
        let text = e.to_string();
        assert!(matches!(e, SecretReadError::Forbidden { .. }), "{e:?}");
        assert!(
            text.contains("secretsmanager:GetSecretValue on that ARN"),
            "{text}"
        );
        assert!(text.contains("REKEY_SECRET_ID"), "{text}");
        let e = classify(service_error("ThrottlingException"), &reference());
        assert!(matches!(e, SecretReadError::Unavailable { .. }), "{e:?}");
    }
}
