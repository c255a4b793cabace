#pragma once
// A throw-away PostgreSQL cluster for tests: initdb and pg_ctl in a temporary folder, on
// a free 127.0.0.1 port, trust authentication for the superuser "segscale", fsync off.
// Run as the invoking user, or as "postgres" (runuser) when that is root, since initdb
// refuses root. Nothing of the system's PostgreSQL (its clusters, port 5432) is used.
// unavailableReason() says why it cannot run here.

#include <QString>
#include <QStringList>
#include <QTemporaryDir>

class PostgresFixture {
public:
    PostgresFixture();
    // Stops the cluster (immediate shutdown).
    ~PostgresFixture();
    PostgresFixture(const PostgresFixture &) = delete;
    PostgresFixture &operator=(const PostgresFixture &) = delete;

    // Why the fixture cannot run here (no server binaries, root without a postgres
    // user), or empty when it can.
    static QString unavailableReason();

    // initdb + pg_ctl start -w. On false, errorString() says why (with the tool's output).
    bool start();
    void stop();

    bool isRunning() const { return m_started; }
    QString errorString() const { return m_error; }
    QString log() const;

    QString host() const { return QStringLiteral("127.0.0.1"); }
    int port() const { return m_port; }
    QString userName() const { return QStringLiteral("segscale"); }
    QString dir() const { return m_dir.path(); }

    // CREATE DATABASE name (or study1, study2, ... when empty) through the Qt PostgreSQL
    // driver; returns postgresql://segscale@127.0.0.1:PORT/NAME, or empty on failure.
    QString createDatabase(const QString &name = {});

private:
    static QString binDir();
    bool runTool(const QString &tool, const QStringList &arguments);

    QTemporaryDir m_dir{QStringLiteral("/tmp/segscale-pg-XXXXXX")};
    QString m_bin;
    QStringList m_asUser; // "runuser -u postgres --" when we are root
    QString m_data;
    int m_port = 0;
    int m_databases = 0;
    bool m_started = false;
    QString m_error;
};
