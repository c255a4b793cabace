#pragma once
// StudyConnection: the desktop app's one line to a coordinator. Either embedded — a
// Coordinator on its own thread over a study file, reached in-process (trusted, no
// token), plus a WebSocket listener on 127.0.0.1 so that launched local agents and
// external `segscale agent` processes can join — or remote, a `segscale serve` reached
// over ws[s]:// with an admin token. It says hello as "admin", subscribes to "changed"
// pushes and re-reads the summary and the workers on each push and every 2 s. It holds no
// study logic: it forwards requests and replies, and turns every error reply or lost
// connection into a readable failed() message.

#include <QJsonArray>
#include <QJsonObject>
#include <QObject>
#include <QPointer>
#include <QTimer>
#include <QUrl>

#include <functional>
#include <memory>

namespace SegScale::Cluster {
class CoordinatorClient;
class CoordinatorServer;
class CoordinatorThread;
}
namespace SegScale::Launch {
class AgentLaunchers;
}

namespace SegScale::Ui {

class StudyConnection final : public QObject {
    Q_OBJECT
public:
    explicit StudyConnection(QObject *parent = nullptr);
    ~StudyConnection() override;

    // The `segscale` executable that local agents run (default: next to this program).
    void setAgentProgram(const QString &path) { m_agentProgram = path; }

    // Opens a study file with an embedded coordinator; connected() or failed() follows.
    void openEmbedded(const QString &database);
    // Attaches to `segscale serve` at ws[s]://host:port with the admin token in tokenFile.
    void openRemote(const QUrl &url, const QString &tokenFile);
    void close();

    bool isConnected() const { return m_connected; }
    bool isEmbedded() const { return m_thread != nullptr; }
    // What the status bar says: the study file or the URL.
    QString describe() const;
    // Embedded only: the study file; empty when remote or closed.
    QString database() const { return isEmbedded() ? m_database : QString(); }
    // Embedded only: where external agents connect and the token file they present.
    QString agentUrl() const { return m_agentUrl; }
    QString agentTokenFile() const { return m_agentTokenFile; }
    // From the coordinator's welcome; 0 before connected().
    int heartbeatSeconds() const { return m_heartbeatSeconds; }

    // Admin requests; an error reply becomes failed() and actionFailed().
    void drain(const QString &worker);
    void stop(const QString &worker);
    void stopLaunched(const QString &launchId);
    void launchLocal(int count);
    // Any admin "launch" request (kind local, ssh or slurm; see StartAgentsDialog); a name
    // prefix of this session's own is added when the request has none.
    void launch(QJsonObject request);
    // Drains every connected agent in the last workers list; returns how many were asked.
    int drainAll();
    // The last workers list the coordinator sent (empty before the first).
    const QJsonArray &lastWorkers() const { return m_lastWorkers; }
    const QJsonObject &lastSummary() const { return m_lastSummary; }
    // Throughput chart span and bucket (default 3 h in 1-minute buckets).
    void setThroughputWindow(int minutes, int bucketSeconds);
    // Asks for the summary and the workers now (also done on "changed" and every 2 s).
    void refresh();

    // One keyset page of a listing ("results" or "errors"): rows with a key > after, at
    // most limit of them; `filter` adds fields (the errors' "category"). The reply goes to
    // onPage — next is the key of the following page, or -1 on the last one — unless
    // context is gone by then. An error reply becomes failed(), and onPage gets no rows
    // and -1: the listing ends there until it is reloaded.
    using PageHandler = std::function<void(const QJsonArray &rows, qint64 next)>;
    void requestPage(const QString &kind, qint64 after, int limit, const QJsonObject &filter, QObject *context, PageHandler onPage);
    // Any other admin request (the Results view's "composition", "export", "image"): the
    // reply goes to onReply unless context is gone by then; error is empty on success and
    // the coordinator's readable message otherwise (also when not connected). Nothing is
    // emitted: the caller shows the error where it belongs (a viewer, a dialog).
    using ReplyHandler = std::function<void(const QJsonObject &reply, const QString &error)>;
    void query(QJsonObject request, QObject *context, ReplyHandler onReply);
    // Failed images (of one category; empty: all) back to pending; onDone gets how many.
    // A refusal is an actionFailed(), as for drain and stop.
    void retry(const QString &category, QObject *context, std::function<void(qint64 count)> onDone);
    // The same for the failed images among these ids (the rows a user selected).
    void retryImages(const QList<qint64> &images, QObject *context, std::function<void(qint64 count)> onDone);
    // Any other admin request (error-facets, audit-sample, audit-mark, …): the reply goes to
    // onReply unless context is gone. An error reply becomes failed() and actionFailed(),
    // prefixed with `what` ("Draw an audit sample: …"); onReply is not called, onError
    // (when given) gets that message.
    void ask(const QString &what, QJsonObject request, QObject *context, std::function<void(const QJsonObject &reply)> onReply,
             std::function<void(const QString &message)> onError = {});

Q_SIGNALS:
    void connected();
    void summaryUpdated(const QJsonObject &summary);
    // The coordinator pushed "changed": results, failures or workers moved.
    void studyChanged();
    void workersUpdated(const QJsonArray &workers, const QJsonArray &launched);
    // Per-dataset counts ("datasets" reply) and finished images per bucket ("throughput"
    // reply), re-read at most every kStatisticsMs: the per-dataset count scans the images.
    void datasetsUpdated(const QJsonArray &datasets);
    void throughputUpdated(const QJsonObject &throughput);
    void failed(const QString &message);
    // A request the user made (drain, stop, launch) was refused; failed() fires too.
    void actionFailed(const QString &message);
    void disconnected();

private:
    void attach(Cluster::CoordinatorClient *client, const QByteArray &token);
    void sayHello(const QByteArray &token);
    void onReceived(const QJsonObject &message);
    void onClosed(const QString &reason);
    void action(const QString &what, QJsonObject request, std::function<void(const QJsonObject &)> onOk = {});
    void fail(const QString &message);
    void teardown();

    QString m_agentProgram;
    QString m_database;
    QString m_agentUrl;
    QString m_agentTokenFile;
    std::unique_ptr<Cluster::CoordinatorThread> m_thread;
    std::unique_ptr<Cluster::CoordinatorServer> m_server;
    std::shared_ptr<Launch::AgentLaunchers> m_launchers;
    QPointer<Cluster::CoordinatorClient> m_client;
    QTimer m_poll;
    bool m_connected = false;
    bool m_refusedAtHello = false;
    bool m_summaryInFlight = false;
    bool m_workersInFlight = false;
    bool m_datasetsInFlight = false;
    bool m_throughputInFlight = false;
    qint64 m_statisticsAt = 0;  // ms since the epoch of the last datasets/throughput request
    int m_throughputMinutes = 180;
    int m_throughputBucketSeconds = 60;
    QJsonArray m_lastWorkers;
    QJsonObject m_lastSummary;
    int m_heartbeatSeconds = 0;
    int m_launches = 0;
};

} // namespace SegScale::Ui
