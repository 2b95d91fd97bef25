//! `REKEY_DIRECTORY`: where accounts live, rekey's own table or an Amazon
//! Cognito user pool, and the pool's variables.

use super::EnvReader;

/// `REKEY_DIRECTORY`: which directory holds the accounts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum DirectoryChoice {
    /// rekey's own table (`REKEY_DIRECTORY=rekey`, or unset).
    #[default]
    Rekey,
    /// An Amazon Cognito user pool (`REKEY_DIRECTORY=cognito`).
    Cognito {
        /// `REKEY_COGNITO_USER_POOL_ID`.
        pool_id: String,
        /// `REKEY_COGNITO_CLIENT_ID`: the app client the account-recovery
        /// log-in signs in with; only that route needs it.
        client_id: Option<String>,
    },
}

pub const DIRECTORY_VAR: &str = "REKEY_DIRECTORY";
pub const POOL_ID_VAR: &str = "REKEY_COGNITO_USER_POOL_ID";
pub const CLIENT_ID_VAR: &str = "REKEY_COGNITO_CLIENT_ID";

/// Reads `REKEY_DIRECTORY` (`rekey`, the default, or `cognito`) and the
/// pool's variables, recording each problem.
pub(super) fn read_choice(env: &mut EnvReader<'_>) -> DirectoryChoice {
    let pool_id = env.optional(POOL_ID_VAR);
    let client_id = env.optional(CLIENT_ID_VAR);
    match env.optional(DIRECTORY_VAR).as_deref() {
        None | Some("rekey") => {
            if pool_id.is_some() {
                env.problems.push(format!(
                    "{POOL_ID_VAR} is set but {DIRECTORY_VAR} is not `cognito`"
                ));
            }
            DirectoryChoice::Rekey
        }
        Some("cognito") => match pool_id {
            Some(pool_id) => DirectoryChoice::Cognito { pool_id, client_id },
            None => {
                env.problems.push(format!(
                    "{DIRECTORY_VAR}=cognito needs {POOL_ID_VAR}, the user pool's id"
                ));
                DirectoryChoice::Rekey
            }
        },
        Some(other) => {
            env.problems.push(format!(
                "{DIRECTORY_VAR}={other:?} is not `rekey` or `cognito`"
            ));
            DirectoryChoice::Rekey
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(vars: &[(&str, &str)]) -> (DirectoryChoice, Vec<String>) {
        let vars: std::collections::HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut env = EnvReader::new(|k| vars.get(k).cloned());
        let c = read_choice(&mut env);
        (c, env.problems)
    }

    #[test]
    fn rekey_by_default_and_a_pool_only_when_asked_for_with_its_id() {
        assert_eq!(choice(&[]), (DirectoryChoice::Rekey, vec![]));
        assert_eq!(
            choice(&[(DIRECTORY_VAR, "cognito"), (POOL_ID_VAR, "us-east-1_Abc")]),
            (
                DirectoryChoice::Cognito {
                    pool_id: "us-east-1_Abc".into(),
                    client_id: None
                },
                vec![]
            )
        );
        let (_, problems) = choice(&[(DIRECTORY_VAR, "cognito")]);
        assert!(problems[0].contains(POOL_ID_VAR), "{problems:?}");
        let (_, problems) = choice(&[(POOL_ID_VAR, "us-east-1_Abc")]);
        assert!(problems[0].contains(DIRECTORY_VAR), "{problems:?}");
        let (_, problems) = choice(&[(DIRECTORY_VAR, "ldap")]);
        assert!(problems[0].contains("ldap"), "{problems:?}");
    }
}
