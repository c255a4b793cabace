#pragma once
// A private OpenSSH server for integration tests: its own config, host key, authorized
// keys and port on 127.0.0.1, in a temporary folder. Nothing of the system's ssh setup
// (/etc/ssh, ~/.ssh, port 22) is read or changed. It can be stopped, killed like a
// crashed host (every session with it), restarted on the same port, and given a new
// host key, so tests can exercise reconnects and host key checks against the real thing.

#include <QJsonObject>
#include <QProcess>
#include <QString>
#include <QTemporaryDir>

#include <memory>

class SshdFixture {
public:
    SshdFixture();
    ~SshdFixture();
    SshdFixture(const SshdFixture &) = delete;
    SshdFixture &operator=(const SshdFixture &) = delete;

    // Why the fixture cannot run here (no sshd, no ssh-keygen), or empty when it can.
    static QString unavailableReason();
    // A 127.0.0.1 port nothing listens on right now.
    static int unusedPort();

    // Creates keys on first use, writes the config and starts sshd; waits until it
    // accepts connections. On false, errorString() says why (with sshd's log).
    bool start();
    // Ends the listener and every session it started (SIGTERM, then SIGKILL).
    void stop();
    // SIGKILL to the listener and all sessions at once: the host "died".
    void kill();
    // Starts again on the same port with the same keys (or a regenerated host key).
    bool restart();
    // Replaces the host key; takes effect at the next start/restart.
    bool regenerateHostKey();
    // Freezes (SIGSTOP) or thaws the running session processes, not the listener: the
    // server "hangs" for existing connections while new ones still work.
    void freezeSessions(bool frozen);

    bool isRunning() const;
    QString errorString() const { return m_error; }
    QString log() const;

    int port() const { return m_port; }
    QString host() const { return QStringLiteral("127.0.0.1"); }
    QString userName() const;
    QString dir() const { return m_dir.path(); }
    // A folder for test data inside the fixture's temp dir.
    QString dataDir() const { return m_dir.path() + QStringLiteral("/data"); }
    // sftp://user@127.0.0.1:port<absolutePath>
    QString url(const QString &absolutePath) const;

    // The authorised client key (private key path).
    QString clientKey() const { return m_dir.path() + QStringLiteral("/client_key"); }
    // Makes another client key; authorised or not; optionally encrypted. Returns its path.
    QString makeClientKey(const QString &name, bool authorise, const QString &passphrase = {});

    // SHA256:... of the current host key, as OpenSSH prints it.
    QString hostKeyFingerprint() const;
    // Writes a known_hosts file holding the current host key; returns its path.
    QString writeKnownHosts(const QString &fileName = QStringLiteral("known_hosts")) const;
    // Writes {"hosts": {"[127.0.0.1]:port": entry}} with mode 0600; returns its path.
    QString writeCredentials(const QJsonObject &entry, const QString &fileName = QStringLiteral("credentials.json")) const;

    void setPasswordAuthentication(bool enabled) { m_passwordAuth = enabled; }

private:
    bool keygen(const QStringList &arguments);
    bool writeConfig();
    bool waitUntilListening();
    QList<qint64> sessionPids() const;
    void signalAll(int signal);

    QTemporaryDir m_dir;
    std::unique_ptr<QProcess> m_sshd;
    int m_port = 0;
    bool m_passwordAuth = false;
    QString m_error;
};
