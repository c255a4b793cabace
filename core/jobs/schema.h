#pragma once
// Schema: creates a study database and migrates older ones step by step (v1 -> v2 -> ...).
// A new database runs the same steps as an old one, so the migration path is the path
// every study takes. Each step runs in its own transaction together with its version bump.

#include "base/result.h"

class QSqlDatabase;

namespace SegScale::Jobs {

enum class Dialect { Sqlite, Postgres };

class Schema {
public:
    static constexpr int CurrentVersion = 5;

    // 0 for an empty database (no meta table).
    static Result<int> version(QSqlDatabase &db);
    // Brings the database to CurrentVersion. Refuses a database newer than this build.
    static Result<void> migrate(QSqlDatabase &db, Dialect dialect);
};

} // namespace SegScale::Jobs
