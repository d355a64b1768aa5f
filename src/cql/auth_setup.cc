#include "cql/auth_setup.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "base/status_macros.h"
#include "cql/client.h"

namespace cql {

std::string QuoteLiteral(const std::string& s) {
  return absl::StrCat("'", absl::StrReplaceAll(s, {{"'", "''"}}), "'");
}

absl::StatusOr<SchemaVersions> SetupSuperuser(const std::string& host, int port,
                                              const std::string& user, const std::string& password,
                                              absl::Duration agreement_timeout,
                                              const TlsOptions& tls) {
  if (user.empty() || user == "cassandra") {
    return absl::InvalidArgumentError("superuser name must be set and not \"cassandra\"");
  }
  auto admin = Client::Connect(host, port, user, password, absl::Seconds(10), tls);
  if (!admin.ok() && absl::IsUnauthenticated(admin.status())) {
    ASSIGN_OR_RETURN(auto bootstrap,
                     Client::Connect(host, port, "cassandra", "cassandra", absl::Seconds(10), tls));
    // Role names are identifiers: double-quote them, literal-quote the password.
    RETURN_IF_ERROR(base::Annotate(
        bootstrap
            ->Query(absl::StrCat("CREATE ROLE IF NOT EXISTS \"",
                                 absl::StrReplaceAll(user, {{"\"", "\"\""}}),
                                 "\" WITH SUPERUSER = true AND LOGIN = true AND PASSWORD = ",
                                 QuoteLiteral(password)),
                    Consistency::kQuorum)
            .status(),
        "create superuser role"));
    admin = Client::Connect(host, port, user, password, absl::Seconds(10), tls);
  }
  if (!admin.ok()) return base::Annotate(admin.status(), "log in as the superuser");
  RETURN_IF_ERROR(
      base::Annotate((*admin)
                         ->Query("ALTER ROLE cassandra WITH SUPERUSER = false AND LOGIN = false",
                                 Consistency::kQuorum)
                         .status(),
                     "disable cassandra/cassandra"));
  // Role changes are writes to system_auth, whose tables every node must have: wait until the
  // peers agree on the schema before reporting the cluster ready for the new role.
  auto versions = WaitForSchemaAgreement(**admin, agreement_timeout);
  if (!versions.ok()) return base::Annotate(versions.status(), "schema agreement");
  return versions;
}

}  // namespace cql
