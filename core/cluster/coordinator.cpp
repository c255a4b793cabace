#include "cluster/coordinator.h"

#include "cluster/resultsservice.h"
#include "jobs/auditstore.h"
#include "jobs/errorlog.h"
#include "jobs/jobstore.h"
#include "jobs/studystatistics.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>

#include <QElapsedTimer>

#include <algorithm>
#include <utility>

namespace SegScale::Cluster {
namespace {

// Tokens are compared in time that does not depend on where they differ.
bool sameToken(const QByteArray &given, const QByteArray &expected)
{
    if (expected.isEmpty())
        return false;
    const QByteArray a = QCryptographicHash::hash(given, QCryptographicHash::Sha256);
    const QByteArray b = QCryptographicHash::hash(expected, QCryptographicHash::Sha256);
    unsigned char diff = 0;
    for (qsizetype i = 0; i < a.size(); ++i)
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

qint64 integer(const QJsonObject &m, const char *key)
{
    return static_cast<qint64>(m.value(QLatin1StringView(key)).toDouble());
}

QList<qint64> leaseIds(const QJsonValue &v)
{
    QList<qint64> out;
    for (const QJsonValue &x : v.toArray())
        out.append(Protocol::leaseId(x));
    return out;
}

QList<qint64> integers(const QJsonValue &v)
{
    QList<qint64> out;
    for (const QJsonValue &x : v.toArray())
        out.append(static_cast<qint64>(x.toDouble()));
    return out;
}

QString type(const QJsonObject &m)
{
    return m.value(QStringLiteral("type")).toString();
}

QJsonObject message(const QString &t)
{
    return QJsonObject{{QStringLiteral("type"), t}};
}

} // namespace

struct Coordinator::Session {
    quint64 id = 0;
    std::shared_ptr<Peer> peer;
    bool trusted = false;
    bool closed = false;
    Protocol::Role role = Protocol::Role::None;
    QString name, host, device, version, precision;
    int threads = 0;
    qint64 connectedAt = 0;
    qint64 lastHeartbeat = 0;
    QJsonObject stats;
    QJsonObject accelerator;     // empty: the agent runs on a CPU (or its driver cannot say)
    QHash<qint64, qint64> held;  // image -> lease, as far as this session knows
    qint64 done = 0, failed = 0;
    bool draining = false;
    bool stopping = false;       // told to stop (not drain) by an admin
    bool checked = false;        // passed the study's check images (or there are none)
    QString refusal;             // why this agent may not work (a failed check)
    QString leaving;             // why the session ends, for the workers list (empty: the connection dropped)
    int subscribeMs = 0;         // > 0: push "changed" at most this often
    qint64 lastPush = 0;
};

struct Coordinator::Queued {
    quint64 session = 0;
    bool isFailure = false;
    qint64 image = 0;
    qint64 lease = 0;
    Jobs::ImageResult result;
    Error error;
};

Coordinator::Coordinator(CoordinatorOptions options, QObject *parent)
    : QObject(parent), m_options(std::move(options)), m_flushTimer(this), m_sweepTimer(this), m_tickTimer(this)
{
    // The timers are children so that moveToThread takes them along.
    m_flushTimer.setSingleShot(true);
    connect(&m_flushTimer, &QTimer::timeout, this, [this] { flush(); });
    connect(&m_sweepTimer, &QTimer::timeout, this, [this] { sweep(); });
    connect(&m_tickTimer, &QTimer::timeout, this, [this] { tick(); });
}

Coordinator::~Coordinator()
{
    flush();
}

Result<void> Coordinator::open()
{
    auto store = Jobs::JobStore::open(m_options.database);
    if (!store)
        return store.error();
    m_store = std::move(store).value();
    m_results = std::make_unique<ResultsService>(*m_store, m_options.outputs);
    Jobs::JobStore::Options o;
    o.maxAttempts = m_options.maxAttempts;
    m_store->setOptions(o);
    auto settings = m_store->settings();
    if (!settings)
        return settings.error();
    if (!*settings)
        return Error{ErrorCategory::Usage, QStringLiteral("%1 has no settings: create it with `segscale study create`").arg(m_options.database)};
    m_settings = **settings;
    const QString dir = m_settings.modelCard.value(QStringLiteral("directory")).toString();
    const QString file = m_settings.modelCard.value(QStringLiteral("file")).toString();
    if (!dir.isEmpty() && !file.isEmpty()) {
        m_modelPath = QFileInfo(dir + QLatin1Char('/') + file).absoluteFilePath();
        m_modelSize = QFileInfo(m_modelPath).size();
    }
    auto checks = m_store->checkImages();
    if (!checks)
        return checks.error();
    m_checks = *checks;
    m_sweepTimer.start(std::max(100, m_options.sweepMs));
    m_tickTimer.start(250);
    sweep();
    return {};
}

quint64 Coordinator::connectPeer(std::shared_ptr<Peer> peer, bool trusted)
{
    auto s = std::make_shared<Session>();
    s->id = m_nextSession++;
    s->peer = std::move(peer);
    s->trusted = trusted;
    s->connectedAt = QDateTime::currentMSecsSinceEpoch();
    m_sessions.insert(s->id, s);
    return s->id;
}

void Coordinator::disconnectPeer(quint64 session)
{
    auto it = m_sessions.find(session);
    if (it == m_sessions.end())
        return;
    std::shared_ptr<Session> s = *it;
    m_sessions.erase(it);
    s->closed = true;
    if (s->role == Protocol::Role::Agent) {
        log(QStringLiteral("agent %1 left (%2 images still leased to it)").arg(s->name).arg(s->held.size()));
        // A replaced session is the same agent, still here: nothing to show.
        if (!sessionNamed(s->name)) {
            const QString why = !s->leaving.isEmpty() ? s->leaving
                                : s->stopping       ? QStringLiteral("stopped by an admin; the images it had not finished go back to pending")
                                                    : QStringLiteral("the connection dropped without a goodbye");
            m_departed.insert(s->name, QJsonObject{{QStringLiteral("name"), s->name},
                                                   {QStringLiteral("host"), s->host},
                                                   {QStringLiteral("device"), s->device},
                                                   {QStringLiteral("state"), QStringLiteral("left")},
                                                   {QStringLiteral("detail"), why},
                                                   {QStringLiteral("done"), static_cast<double>(s->done)},
                                                   {QStringLiteral("failed"), static_cast<double>(s->failed)},
                                                   {QStringLiteral("last_heartbeat"), static_cast<double>(s->lastHeartbeat)},
                                                   {QStringLiteral("left_at"), static_cast<double>(QDateTime::currentMSecsSinceEpoch())}});
            // Bounded: a long study sees thousands of Slurm tasks come and go.
            while (m_departed.size() > kMaxDeparted) {
                auto oldest = std::min_element(m_departed.begin(), m_departed.end(), [](const QJsonObject &a, const QJsonObject &b) {
                    return a.value(QStringLiteral("left_at")).toDouble() < b.value(QStringLiteral("left_at")).toDouble();
                });
                m_departed.erase(oldest);
            }
        }
        m_dirty = true;
    }
}

void Coordinator::receive(quint64 session, const QByteArray &frame)
{
    auto it = m_sessions.find(session);
    if (it == m_sessions.end())
        return;
    std::shared_ptr<Session> s = *it;
    auto parsed = Protocol::parse(frame, s->role);
    if (!parsed) {
        refuse(*s, parsed.error().category == ErrorCategory::TooLarge ? QStringLiteral("too-large") : QStringLiteral("malformed"),
               parsed.error().message);
        return;
    }
    dispatch(*s, *parsed);
}

void Coordinator::handle(quint64 session, const QJsonObject &m)
{
    auto it = m_sessions.find(session);
    if (it == m_sessions.end())
        return;
    std::shared_ptr<Session> s = *it;
    if (auto ok = Protocol::validate(m, s->role); !ok) {
        refuse(*s, QStringLiteral("malformed"), ok.error().message);
        return;
    }
    dispatch(*s, m);
}

void Coordinator::refuse(Session &s, const QString &code, const QString &text)
{
    log(QStringLiteral("closing %1 (%2): %3").arg(s.name.isEmpty() ? s.peer->address() : s.name, code, text));
    s.leaving = QStringLiteral("closed by the coordinator: ") + text;
    s.peer->send(Protocol::error(code, text));
    s.peer->close(text);
    disconnectPeer(s.id);
}

void Coordinator::reply(Session &s, const QJsonObject &m, QJsonObject answer)
{
    if (const QJsonValue id = m.value(QStringLiteral("id")); !id.isUndefined())
        answer.insert(QStringLiteral("id"), id);
    s.peer->send(answer);
}

void Coordinator::dispatch(Session &s, const QJsonObject &m)
{
    const QString t = type(m);
    if (t == QLatin1StringView("hello"))
        hello(s, m);
    else if (t == QLatin1StringView("bye")) {
        release(s, integers(m.value(QStringLiteral("release"))));
        flush();
        s.leaving = s.stopping   ? QStringLiteral("stopped by an admin; the images it had not finished went back to pending")
                    : s.draining ? QStringLiteral("drained: finished its images and said goodbye")
                                 : QStringLiteral("said goodbye: no work left for it");
        s.peer->close(QStringLiteral("bye"));
        disconnectPeer(s.id);
    } else if (s.role == Protocol::Role::Admin)
        admin(s, m);
    else if (t == QLatin1StringView("lease"))
        lease(s, m);
    else if (t == QLatin1StringView("heartbeat"))
        heartbeat(s, m);
    else if (t == QLatin1StringView("result"))
        result(s, m);
    else if (t == QLatin1StringView("failure"))
        failure(s, m);
    else if (t == QLatin1StringView("release"))
        release(s, integers(m.value(QStringLiteral("images"))));
    else if (t == QLatin1StringView("model-chunk"))
        modelChunk(s, m);
    else if (t == QLatin1StringView("check"))
        checkImage(s, m);
    else if (t == QLatin1StringView("check-result"))
        checkResult(s, m);
}

void Coordinator::hello(Session &s, const QJsonObject &m)
{
    const int version = static_cast<int>(integer(m, "protocol"));
    if (version != Protocol::kVersion) {
        refuse(s, QStringLiteral("version"),
               QStringLiteral("this coordinator speaks protocol %1, the client %2: use the same SegScale version on both sides")
                   .arg(Protocol::kVersion)
                   .arg(version));
        return;
    }
    const QString role = m.value(QStringLiteral("role")).toString();
    const QByteArray token = m.value(QStringLiteral("token")).toString().toUtf8();
    Protocol::Role wanted = Protocol::Role::None;
    if (role == QLatin1StringView("agent"))
        wanted = Protocol::Role::Agent;
    else if (role == QLatin1StringView("admin"))
        wanted = Protocol::Role::Admin;
    if (wanted == Protocol::Role::None) {
        refuse(s, QStringLiteral("malformed"), QStringLiteral("\"role\" must be agent or admin"));
        return;
    }
    // The admin token opens both doors; an agent token never opens the admin one.
    const bool admitted = s.trusted || sameToken(token, m_options.adminToken) ||
                          (wanted == Protocol::Role::Agent && sameToken(token, m_options.agentToken));
    if (!admitted) {
        refuse(s, QStringLiteral("auth"),
               wanted == Protocol::Role::Admin ? QStringLiteral("this token does not allow the admin role")
                                               : QStringLiteral("the token is not accepted"));
        return;
    }
    s.role = wanted;
    s.name = m.value(QStringLiteral("name")).toString();
    s.host = m.value(QStringLiteral("host")).toString();
    s.device = m.value(QStringLiteral("device")).toString();
    s.version = m.value(QStringLiteral("version")).toString();
    s.precision = m.value(QStringLiteral("precision")).toString();
    s.threads = static_cast<int>(integer(m, "threads"));
    if (wanted == Protocol::Role::Agent) {
        if (s.name.isEmpty()) {
            refuse(s, QStringLiteral("malformed"), QStringLiteral("an agent needs a \"name\""));
            return;
        }
        // One live session per name: a reconnecting agent replaces the one the
        // coordinator has not yet seen die, and keeps its leases.
        if (Session *old = sessionNamed(s.name, s.id)) {
            old->peer->close(QStringLiteral("replaced by a new connection of the same agent"));
            s.held = old->held;
            disconnectPeer(old->id);
        }
        // A fresh process of this name: whatever an earlier one held died with it.
        if (m.value(QStringLiteral("fresh")).toBool()) {
            auto expired = m_store->expireLeases(s.name);
            if (expired && expired->returnedToPending + expired->failed > 0)
                log(QStringLiteral("agent %1 restarted: %2 images it held are pending again").arg(s.name).arg(expired->returnedToPending));
        }
        m_departed.remove(s.name);
        if (auto r = m_store->registerWorker(s.name, s.host, s.device); !r)
            log(r.error().message);
        s.lastHeartbeat = QDateTime::currentMSecsSinceEpoch();
        log(QStringLiteral("agent %1 joined from %2 (%3, %4 threads)").arg(s.name, s.peer->address(), s.device).arg(s.threads));
        m_dirty = true;
    }
    QJsonObject welcome = message(QStringLiteral("welcome"));
    welcome.insert(QStringLiteral("protocol"), Protocol::kVersion);
    welcome.insert(QStringLiteral("role"), Protocol::roleName(s.role));
    welcome.insert(QStringLiteral("session"), static_cast<double>(s.id));
    welcome.insert(QStringLiteral("settings"), m_settings.toJson());
    welcome.insert(QStringLiteral("lease_seconds"), m_options.leaseSeconds);
    welcome.insert(QStringLiteral("heartbeat_seconds"), std::max(1, m_options.leaseSeconds / 4));
    welcome.insert(QStringLiteral("model_size"), static_cast<double>(m_modelSize));
    welcome.insert(QStringLiteral("outputs"), m_options.outputs);
    welcome.insert(QStringLiteral("check_images"), static_cast<int>(m_checks.size()));
    // In-process agents share this process's model and build: nothing to prove.
    s.checked = m_checks.isEmpty() || s.trusted;
    reply(s, m, welcome);
}

void Coordinator::lease(Session &s, const QJsonObject &m)
{
    if (!s.checked) {
        refuse(s, QStringLiteral("check"), s.refusal.isEmpty() ? QStringLiteral("segment the study's check images before asking for work")
                                                               : s.refusal);
        return;
    }
    if (s.draining) {
        reply(s, m, message(QStringLiteral("drain")));
        return;
    }
    const int n = static_cast<int>(integer(m, "n"));
    auto leased = m_store->lease(s.name, n, m_options.leaseSeconds);
    if (!leased) {
        log(leased.error().message);
        reply(s, m, QJsonObject{{QStringLiteral("type"), QStringLiteral("wait")}, {QStringLiteral("seconds"), m_options.waitSeconds}});
        return;
    }
    if (!leased->isEmpty()) {
        QJsonArray images;
        for (const Jobs::LeasedImage &img : *leased) {
            s.held.insert(img.imageId, img.leaseId);
            images.append(QJsonObject{{QStringLiteral("image"), static_cast<double>(img.imageId)},
                                      {QStringLiteral("lease"), Protocol::leaseIdValue(img.leaseId)},
                                      {QStringLiteral("dataset"), static_cast<double>(img.datasetId)},
                                      {QStringLiteral("storage"), img.storageUrl},
                                      {QStringLiteral("root"), img.root},
                                      {QStringLiteral("path"), img.path},
                                      {QStringLiteral("size"), static_cast<double>(img.size)},
                                      {QStringLiteral("attempts"), img.attempts}});
        }
        m_dirty = true;
        reply(s, m, QJsonObject{{QStringLiteral("type"), QStringLiteral("grant")}, {QStringLiteral("images"), images},
                                {QStringLiteral("lease_seconds"), m_options.leaseSeconds}});
        return;
    }
    // Nothing to lease now. Done only when nothing is pending (back-off included) and
    // nothing is leased but what this agent itself still holds: images other agents hold
    // come back if those agents die, so the others wait for them. Asked of the store, not
    // of s.held: that keeps leases which expired and went to another agent since.
    auto pending = m_store->imageCount(Jobs::ImageState::Pending);
    auto leasedToOthers = m_store->leasedToOthers(s.name);
    if (pending && leasedToOthers && *pending == 0 && *leasedToOthers == 0) {
        reply(s, m, message(QStringLiteral("done")));
        return;
    }
    reply(s, m, QJsonObject{{QStringLiteral("type"), QStringLiteral("wait")}, {QStringLiteral("seconds"), m_options.waitSeconds}});
}

void Coordinator::heartbeat(Session &s, const QJsonObject &m)
{
    s.lastHeartbeat = QDateTime::currentMSecsSinceEpoch();
    if (m.contains(QStringLiteral("stats")))
        s.stats = m.value(QStringLiteral("stats")).toObject();
    s.accelerator = m.value(QStringLiteral("accelerator")).toObject();
    auto renewed = m_store->heartbeat(s.name, leaseIds(m.value(QStringLiteral("leases"))), m_options.leaseSeconds);
    if (!renewed)
        log(renewed.error().message);
    m_dirty = true;
}

void Coordinator::result(Session &s, const QJsonObject &m)
{
    Queued q;
    q.session = s.id;
    q.image = integer(m, "image");
    q.lease = Protocol::leaseId(m.value(QStringLiteral("lease")));
    q.result.width = static_cast<int>(integer(m, "width"));
    q.result.height = static_cast<int>(integer(m, "height"));
    const QJsonArray composition = m.value(QStringLiteral("composition")).toArray();
    q.result.composition.reserve(static_cast<size_t>(composition.size()));
    for (const QJsonValue &v : composition)
        q.result.composition.push_back(static_cast<float>(v.toDouble()));
    q.result.labelPath = m.value(QStringLiteral("label")).toString();
    q.result.overlayPath = m.value(QStringLiteral("overlay")).toString();
    q.result.timings = m.value(QStringLiteral("timings")).toObject();
    q.result.modelFingerprint = m.value(QStringLiteral("fingerprint")).toString().toLatin1();
    m_queue.push_back(std::move(q));
    if (static_cast<int>(m_queue.size()) >= m_options.flushBatch)
        flush();
    else if (!m_flushTimer.isActive())
        m_flushTimer.start(m_options.flushMs);
}

void Coordinator::failure(Session &s, const QJsonObject &m)
{
    Queued q;
    q.session = s.id;
    q.isFailure = true;
    q.image = integer(m, "image");
    q.lease = Protocol::leaseId(m.value(QStringLiteral("lease")));
    const auto category = categoryFromName(m.value(QStringLiteral("category")).toString());
    q.error = Error{category.value_or(ErrorCategory::Internal), m.value(QStringLiteral("message")).toString()};
    m_queue.push_back(std::move(q));
    if (static_cast<int>(m_queue.size()) >= m_options.flushBatch)
        flush();
    else if (!m_flushTimer.isActive())
        m_flushTimer.start(m_options.flushMs);
}

bool Coordinator::flush()
{
    m_flushTimer.stop();
    if (m_queue.empty() || !m_store)
        return true;
    std::vector<Queued> queue;
    queue.swap(m_queue);
    QList<Jobs::Completion> completions;
    QList<Jobs::Failure> failures;
    for (Queued &q : queue) {
        if (q.isFailure)
            failures.append(Jobs::Failure{q.image, q.lease, q.error});
        else
            completions.append(Jobs::Completion{q.image, q.lease, std::move(q.result)});
    }
    auto done = completions.isEmpty() ? Result<QList<Jobs::WriteOutcome>>(QList<Jobs::WriteOutcome>{}) : m_store->completeMany(completions);
    auto failed = failures.isEmpty() ? Result<QList<Jobs::WriteOutcome>>(QList<Jobs::WriteOutcome>{}) : m_store->failMany(failures);
    if (!done || !failed) {
        // Nothing of that batch is acknowledged: the agents keep those results and send
        // them again once they are back, so closing their connections loses nothing.
        const Error e = !done ? done.error() : failed.error();
        log(QStringLiteral("could not commit %1 results: %2").arg(queue.size()).arg(e.message));
        QList<quint64> affected;
        for (const Queued &q : queue)
            if (!affected.contains(q.session))
                affected.append(q.session);
        for (quint64 id : affected)
            if (auto it = m_sessions.find(id); it != m_sessions.end())
                refuse(**it, QStringLiteral("database"), QStringLiteral("the study database failed: ") + e.message);
        return false;
    }
    qsizetype di = 0, fi = 0;
    for (const Queued &q : queue) {
        const Jobs::WriteOutcome outcome = q.isFailure ? failed->at(fi++) : done->at(di++);
        auto it = m_sessions.find(q.session);
        if (it == m_sessions.end())
            continue;
        Session &s = **it;
        if (s.held.value(q.image) == q.lease)
            s.held.remove(q.image);
        if (outcome == Jobs::WriteOutcome::Done)
            ++s.done;
        else if (outcome == Jobs::WriteOutcome::Failed)
            ++s.failed;
        s.peer->send(QJsonObject{{QStringLiteral("type"), QStringLiteral("ack")},
                                 {QStringLiteral("image"), static_cast<double>(q.image)},
                                 {QStringLiteral("lease"), Protocol::leaseIdValue(q.lease)},
                                 {QStringLiteral("outcome"), Jobs::outcomeName(outcome)}});
    }
    m_committed += static_cast<qint64>(queue.size());
    m_dirty = true;
    return true;
}

void Coordinator::release(Session &s, const QList<qint64> &images)
{
    if (images.isEmpty() || s.role != Protocol::Role::Agent)
        return;
    auto released = m_store->releaseLeases(s.name, images);
    if (!released)
        log(released.error().message);
    for (qint64 id : images)
        s.held.remove(id);
    m_dirty = true;
}

void Coordinator::modelChunk(Session &s, const QJsonObject &m)
{
    const qint64 offset = integer(m, "offset");
    QFile f(m_modelPath);
    if (m_modelPath.isEmpty() || !f.open(QIODevice::ReadOnly)) {
        reply(s, m, Protocol::error(QStringLiteral("model"), QStringLiteral("the coordinator cannot read the study's model weights %1").arg(m_modelPath)));
        return;
    }
    if (offset > f.size()) {
        reply(s, m, Protocol::error(QStringLiteral("model"), QStringLiteral("offset %1 is past the end of the weights").arg(offset)));
        return;
    }
    f.seek(offset);
    const QByteArray data = f.read(Protocol::kModelChunkBytes);
    reply(s, m, QJsonObject{{QStringLiteral("type"), QStringLiteral("model-data")},
                            {QStringLiteral("offset"), static_cast<double>(offset)},
                            {QStringLiteral("size"), static_cast<double>(f.size())},
                            {QStringLiteral("data"), QString::fromLatin1(data.toBase64())},
                            {QStringLiteral("eof"), offset + data.size() >= f.size()}});
}

void Coordinator::checkImage(Session &s, const QJsonObject &m)
{
    const qsizetype index = static_cast<qsizetype>(integer(m, "index"));
    QJsonObject out{{QStringLiteral("type"), QStringLiteral("check-image")},
                    {QStringLiteral("index"), static_cast<int>(index)},
                    {QStringLiteral("count"), static_cast<int>(m_checks.size())}};
    if (index < m_checks.size()) {
        const Jobs::CheckImage &c = m_checks[index];
        out.insert(QStringLiteral("location"), c.location);
        out.insert(QStringLiteral("image"), QString::fromLatin1(c.image.toBase64()));
        out.insert(QStringLiteral("labels"), QString::fromLatin1(c.labelsPng.toBase64()));
        out.insert(QStringLiteral("min_agreement"), c.minAgreement);
    }
    reply(s, m, out);
}

void Coordinator::checkResult(Session &s, const QJsonObject &m)
{
    const double agreement = m.value(QStringLiteral("agreement")).toDouble(-1);
    if (m.value(QStringLiteral("passed")).toBool()) {
        s.checked = true;
        m_refusedAgents.remove(s.name);
        log(QStringLiteral("agent %1 reproduced the check images (worst agreement %2%)").arg(s.name).arg(100.0 * agreement, 0, 'f', 3));
        return;
    }
    s.checked = false;
    s.refusal = QStringLiteral("refused: the check images differ on this agent: ") + m.value(QStringLiteral("message")).toString();
    log(QStringLiteral("agent %1 %2").arg(s.name, s.refusal));
    m_refusedAgents.insert(s.name, s.refusal);
    m_dirty = true;
    refuse(s, QStringLiteral("check"), s.refusal);
}

QJsonObject Coordinator::summary()
{
    QJsonObject out = message(QStringLiteral("summary"));
    auto p = m_store->progress();
    if (!p)
        return Protocol::error(QStringLiteral("database"), p.error().message);
    out.insert(QStringLiteral("pending"), static_cast<double>(p->pending));
    out.insert(QStringLiteral("leased"), static_cast<double>(p->leased));
    out.insert(QStringLiteral("done"), static_cast<double>(p->done));
    out.insert(QStringLiteral("failed"), static_cast<double>(p->failed));
    out.insert(QStringLiteral("total"), static_cast<double>(p->total()));
    out.insert(QStringLiteral("run"), p->run);
    out.insert(QStringLiteral("images_per_minute"), p->imagesPerMinute);
    out.insert(QStringLiteral("eta_seconds"), static_cast<double>(p->etaSeconds));
    QJsonArray errors;
    for (const auto &[category, count] : p->topErrors)
        errors.append(QJsonObject{{QStringLiteral("category"), category}, {QStringLiteral("images"), static_cast<double>(count)}});
    out.insert(QStringLiteral("top_errors"), errors);
    out.insert(QStringLiteral("model"), m_settings.modelName());
    out.insert(QStringLiteral("classes"), QJsonArray::fromStringList(m_settings.classNames()));
    out.insert(QStringLiteral("agents"), agentSessions());
    return out;
}

QJsonArray Coordinator::workers()
{
    // "held" counts the leases the database still gives the agent: the session's own map
    // keeps images whose lease expired (and went to another agent) until a result for
    // them comes back stale.
    auto live = Jobs::StudyStatistics(*m_store).liveLeasesByWorker(m_store->now());
    if (!live)
        log(live.error().message);
    QJsonArray out;
    for (const auto &s : m_sessions) {
        if (s->role != Protocol::Role::Agent)
            continue;
        out.append(QJsonObject{{QStringLiteral("name"), s->name},
                               {QStringLiteral("host"), s->host},
                               {QStringLiteral("device"), s->device},
                               {QStringLiteral("threads"), s->threads},
                               // Empty: the study's; otherwise the agent was told to run another one.
                               {QStringLiteral("precision"), s->precision},
                               {QStringLiteral("version"), s->version},
                               {QStringLiteral("address"), s->peer->address()},
                               {QStringLiteral("connected_at"), static_cast<double>(s->connectedAt)},
                               {QStringLiteral("last_heartbeat"), static_cast<double>(s->lastHeartbeat)},
                               {QStringLiteral("held"), static_cast<double>(live ? live->value(s->name) : s->held.size())},
                               {QStringLiteral("done"), static_cast<double>(s->done)},
                               {QStringLiteral("failed"), static_cast<double>(s->failed)},
                               {QStringLiteral("state"), s->draining  ? QStringLiteral("draining")
                                                         : !s->checked ? QStringLiteral("checking")
                                                                       : QStringLiteral("working")},
                               {QStringLiteral("stats"), s->stats},
                               {QStringLiteral("accelerator"), s->accelerator}});
    }
    for (auto it = m_refusedAgents.cbegin(); it != m_refusedAgents.cend(); ++it)
        out.append(QJsonObject{{QStringLiteral("name"), it.key()}, {QStringLiteral("state"), QStringLiteral("refused")},
                               {QStringLiteral("detail"), it.value()}});
    for (const QJsonObject &d : m_departed)
        if (!m_refusedAgents.contains(d.value(QStringLiteral("name")).toString()))
            out.append(d);
    return out;
}

void Coordinator::admin(Session &s, const QJsonObject &m)
{
    const QString t = type(m);
    if (t == QLatin1StringView("summary")) {
        reply(s, m, summary());
    } else if (t == QLatin1StringView("workers")) {
        reply(s, m, QJsonObject{{QStringLiteral("type"), QStringLiteral("workers")},
                                {QStringLiteral("workers"), workers()},
                                {QStringLiteral("launched"), m_launch ? m_launch->launched() : QJsonArray{}}});
    } else if (ResultsService::handles(t)) {
        // results, composition, export, image (the Results view).
        reply(s, m, m_results->handle(m));
    } else if (t == QLatin1StringView("errors")) {
        const qint64 after = integer(m, "after");
        const int limit = m.contains(QStringLiteral("limit")) ? static_cast<int>(integer(m, "limit")) : 100;
        QJsonArray rows;
        qint64 last = after;
        {
            // Every filter absent or null means "any" (validate() lets null through).
            Jobs::ErrorLog::Filter filter;
            if (m.value(QStringLiteral("category")).isString()) {
                filter.category = categoryFromName(m.value(QStringLiteral("category")).toString());
                if (!filter.category) {
                    reply(s, m, Protocol::error(QStringLiteral("malformed"), QStringLiteral("unknown error category")));
                    return;
                }
            }
            filter.worker = m.value(QStringLiteral("worker")).toString();
            if (m.value(QStringLiteral("dataset")).isDouble())
                filter.datasetId = integer(m, "dataset");
            if (m.value(QStringLiteral("since")).isDouble())
                filter.sinceMs = integer(m, "since");
            if (m.value(QStringLiteral("until")).isDouble())
                filter.untilMs = integer(m, "until");
            if (filter.sinceMs && filter.untilMs && *filter.sinceMs > *filter.untilMs) {
                reply(s, m, Protocol::error(QStringLiteral("malformed"), QStringLiteral("\"since\" is after \"until\"")));
                return;
            }
            auto page = Jobs::ErrorLog(*m_store).page(filter, after, limit);
            if (!page) {
                reply(s, m, Protocol::error(QStringLiteral("database"), page.error().message));
                return;
            }
            for (const auto &r : *page) {
                rows.append(QJsonObject{{QStringLiteral("image"), static_cast<double>(r.imageId)},
                                        {QStringLiteral("location"), r.location},
                                        {QStringLiteral("category"), r.category},
                                        {QStringLiteral("message"), r.message},
                                        {QStringLiteral("worker"), r.worker},
                                        {QStringLiteral("dataset"), static_cast<double>(r.datasetId)},
                                        {QStringLiteral("attempts"), r.attempts},
                                        {QStringLiteral("at"), static_cast<double>(r.atMs)}});
                last = r.imageId;
            }
        }
        QJsonObject page{{QStringLiteral("type"), t}, {QStringLiteral("rows"), rows}};
        // The key of the next page; absent on the last one.
        if (rows.size() == limit)
            page.insert(QStringLiteral("next"), static_cast<double>(last));
        reply(s, m, page);
    } else if (t == QLatin1StringView("error-facets")) {
        Jobs::ErrorLog log(*m_store);
        auto datasets = log.datasets();
        auto names = datasets ? log.workers() : Result<QStringList>(datasets.error());
        if (!names) {
            reply(s, m, Protocol::error(QStringLiteral("database"), names.error().message));
            return;
        }
        QJsonArray list;
        for (const auto &d : *datasets)
            list.append(QJsonObject{{QStringLiteral("id"), static_cast<double>(d.id)}, {QStringLiteral("root"), d.root},
                                    {QStringLiteral("storage"), d.storage}});
        reply(s, m, QJsonObject{{QStringLiteral("type"), t}, {QStringLiteral("datasets"), list},
                                {QStringLiteral("workers"), QJsonArray::fromStringList(*names)}});
    } else if (t.startsWith(QLatin1StringView("audit-"))) {
        audit(s, m);
    } else if (t == QLatin1StringView("retry") && m.value(QStringLiteral("images")).isArray()) {
        if (m.value(QStringLiteral("category")).isString()) {
            reply(s, m, Protocol::error(QStringLiteral("malformed"), QStringLiteral("retry takes a category or a list of images, not both")));
            return;
        }
        auto n = Jobs::ErrorLog(*m_store).retry(integers(m.value(QStringLiteral("images"))));
        if (!n)
            reply(s, m, Protocol::error(QStringLiteral("database"), n.error().message));
        else
            reply(s, m, QJsonObject{{QStringLiteral("type"), QStringLiteral("ok")}, {QStringLiteral("count"), static_cast<double>(*n)}});
        m_dirty = true;
    } else if (t == QLatin1StringView("retry")) {
        std::optional<ErrorCategory> category;
        if (m.value(QStringLiteral("category")).isString()) {
            // Unknown is refused: left unset it would mean "every category".
            category = categoryFromName(m.value(QStringLiteral("category")).toString());
            if (!category) {
                reply(s, m, Protocol::error(QStringLiteral("malformed"), QStringLiteral("unknown error category")));
                return;
            }
        }
        auto n = m_store->retryFailed(category);
        if (!n)
            reply(s, m, Protocol::error(QStringLiteral("database"), n.error().message));
        else
            reply(s, m, QJsonObject{{QStringLiteral("type"), QStringLiteral("ok")}, {QStringLiteral("count"), static_cast<double>(*n)}});
        m_dirty = true;
    } else if (t == QLatin1StringView("drain") || t == QLatin1StringView("stop")) {
        Session *agent = sessionNamed(m.value(QStringLiteral("worker")).toString());
        if (!agent) {
            reply(s, m, Protocol::error(QStringLiteral("missing"), QStringLiteral("no agent of that name is connected")));
            return;
        }
        agent->draining = true;
        agent->stopping = agent->stopping || t == QLatin1StringView("stop");
        agent->peer->send(message(t));
        m_dirty = true;
        reply(s, m, message(QStringLiteral("ok")));
    } else if (t == QLatin1StringView("launch") || t == QLatin1StringView("stop-launched")) {
        if (!m_launch) {
            reply(s, m, Protocol::error(QStringLiteral("unsupported"), QStringLiteral("this coordinator cannot launch agents")));
            return;
        }
        // The launchers answer from their own thread; the peer sends from any thread.
        std::shared_ptr<Peer> peer = s.peer;
        const QJsonValue id = m.value(QStringLiteral("id"));
        auto answer = [peer, id](QJsonObject r) {
            if (!id.isUndefined())
                r.insert(QStringLiteral("id"), id);
            peer->send(r);
        };
        if (t == QLatin1StringView("launch"))
            m_launch->launch(m, answer);
        else
            m_launch->stop(m.value(QStringLiteral("launch_id")).toString(), answer);
    } else if (t == QLatin1StringView("launched")) {
        reply(s, m, QJsonObject{{QStringLiteral("type"), QStringLiteral("launched")},
                                {QStringLiteral("agents"), m_launch ? m_launch->launched() : QJsonArray{}}});
    } else if (t == QLatin1StringView("datasets")) {
        datasetsRequest(s, m);
    } else if (t == QLatin1StringView("throughput")) {
        throughputRequest(s, m);
    } else if (t == QLatin1StringView("subscribe")) {
        s.subscribeMs = m.contains(QStringLiteral("interval")) ? static_cast<int>(integer(m, "interval")) : 500;
        reply(s, m, message(QStringLiteral("ok")));
    }
}

namespace {

// Reused while younger than 20 times what it cost to make, and at least 2 s.
bool fresh(qint64 at, qint64 costMs)
{
    return at > 0 && QDateTime::currentMSecsSinceEpoch() - at < std::max<qint64>(2000, 20 * costMs);
}

QJsonObject markJson(const Jobs::AuditMark &mark)
{
    return QJsonObject{{QStringLiteral("verdict"), Jobs::verdictName(mark.verdict)},
                       {QStringLiteral("note"), mark.note},
                       {QStringLiteral("marked_at"), static_cast<double>(mark.markedAtMs)},
                       {QStringLiteral("marked_by"), mark.markedBy}};
}

constexpr qint64 kMaxAuditRows = 10000;  // ~2 MB of reply

// A draw in progress: the results are read a page at a time between other messages.
struct AuditDraw : std::enable_shared_from_this<AuditDraw> {
    explicit AuditDraw(const Jobs::AuditSampleParams &p) : sampler(p) {}
    Jobs::AuditSampler sampler;
    qint64 next = 0;
    std::function<void()> step;
};

} // namespace

QJsonObject Coordinator::datasetsReply() const
{
    return QJsonObject{{QStringLiteral("type"), QStringLiteral("datasets")},
                       {QStringLiteral("datasets"), m_datasets},
                       {QStringLiteral("counted_at"), static_cast<double>(m_datasetsAt)}};
}

void Coordinator::datasetsRequest(Session &s, const QJsonObject &m)
{
    // A count that is a little old answers at once; only the very first one is waited for.
    if (m_datasetsAt > 0)
        reply(s, m, datasetsReply());
    else
        m_countWaiters.append({s.id, m.value(QStringLiteral("id"))});
    if (!m_counting && !fresh(m_datasetsAt, m_datasetsCostMs))
        startCount();
}

void Coordinator::startCount()
{
    Jobs::StudyStatistics stats(*m_store);
    auto datasets = stats.datasets();
    auto last = datasets ? stats.maxImageId() : Result<qint64>(datasets.error());
    if (!datasets || !last) {
        answerCountWaiters(Protocol::error(QStringLiteral("database"), !datasets ? datasets.error().message : last.error().message));
        return;
    }
    m_countPartial = *datasets;
    m_countNext = 0;
    m_countLast = *last;
    m_countCostNs = 0;
    m_counting = true;
    QTimer::singleShot(0, this, &Coordinator::countStep);
}

void Coordinator::countStep()
{
    if (!m_counting || !m_store)
        return;
    QElapsedTimer cost;
    cost.start();
    // One range of ids, then back to the event loop: leases and results go in between.
    const qint64 to = std::min(m_countLast, m_countNext + kCountChunk - 1);
    auto counted = Jobs::StudyStatistics(*m_store).countRange(m_countNext, to, m_countPartial);
    m_countCostNs += cost.nsecsElapsed();
    if (!counted) {
        m_counting = false;
        answerCountWaiters(Protocol::error(QStringLiteral("database"), counted.error().message));
        return;
    }
    m_countNext = to + 1;
    if (m_countNext <= m_countLast) {
        QTimer::singleShot(0, this, &Coordinator::countStep);
        return;
    }
    QJsonArray out;
    for (const auto &c : std::as_const(m_countPartial))
        out.append(QJsonObject{{QStringLiteral("id"), static_cast<double>(c.datasetId)},
                               {QStringLiteral("root"), c.root},
                               {QStringLiteral("storage"), c.storageUrl},
                               {QStringLiteral("pending"), static_cast<double>(c.pending)},
                               {QStringLiteral("leased"), static_cast<double>(c.leased)},
                               {QStringLiteral("done"), static_cast<double>(c.done)},
                               {QStringLiteral("failed"), static_cast<double>(c.failed)},
                               {QStringLiteral("total"), static_cast<double>(c.total())}});
    m_datasets = out;
    m_datasetsAt = QDateTime::currentMSecsSinceEpoch();
    m_datasetsCostMs = m_countCostNs / 1'000'000;
    m_counting = false;
    answerCountWaiters(datasetsReply());
}

void Coordinator::answerCountWaiters(const QJsonObject &answer)
{
    const auto waiters = std::exchange(m_countWaiters, {});
    for (const auto &[session, id] : waiters) {
        auto it = m_sessions.find(session);
        if (it == m_sessions.end())
            continue;
        QJsonObject r = answer;
        if (!id.isUndefined())
            r.insert(QStringLiteral("id"), id);
        (*it)->peer->send(r);
    }
}

void Coordinator::throughputRequest(Session &s, const QJsonObject &m)
{
    const qint64 minutes = m.contains(QStringLiteral("minutes")) ? integer(m, "minutes") : 180;
    const qint64 bucketMs = 1000 * (m.contains(QStringLiteral("bucket_seconds")) ? integer(m, "bucket_seconds") : 60);
    const QString key = QStringLiteral("%1/%2").arg(minutes).arg(bucketMs);
    if (key != m_throughputKey || !fresh(m_throughputAt, m_throughputCostMs)) {
        QElapsedTimer cost;
        cost.start();
        const qint64 now = m_store->now();
        auto buckets = Jobs::StudyStatistics(*m_store).finishedPerBucket(now - minutes * 60'000, bucketMs);
        if (!buckets) {
            reply(s, m, Protocol::error(QStringLiteral("database"), buckets.error().message));
            return;
        }
        QJsonArray rows;
        for (const auto &b : *buckets)
            rows.append(QJsonArray{static_cast<double>(b.startMs), static_cast<double>(b.finished)});
        m_throughput = QJsonObject{{QStringLiteral("type"), QStringLiteral("throughput")},
                                   {QStringLiteral("now"), static_cast<double>(now)},
                                   {QStringLiteral("bucket_ms"), static_cast<double>(bucketMs)},
                                   {QStringLiteral("buckets"), rows}};
        m_throughputKey = key;
        m_throughputAt = QDateTime::currentMSecsSinceEpoch();
        m_throughputCostMs = cost.elapsed();
    }
    reply(s, m, m_throughput);
}

void Coordinator::audit(Session &s, const QJsonObject &m)
{
    const QString t = type(m);
    if (t == QLatin1StringView("audit-mark")) {
        const qint64 image = integer(m, "image");
        const QString verdict = m.value(QStringLiteral("verdict")).toString();
        Jobs::AuditStore audit(*m_store);
        Result<void> done;
        if (verdict == QLatin1StringView("none")) {
            auto cleared = audit.clearMark(image);
            done = cleared ? Result<void>() : Result<void>(cleared.error());
        } else if (auto v = Jobs::verdictFromName(verdict)) {
            const QString by = m.value(QStringLiteral("by")).isString() ? m.value(QStringLiteral("by")).toString() : s.name;
            done = audit.setMark(image, *v, m.value(QStringLiteral("note")).toString(), by);
        } else {
            reply(s, m, Protocol::error(QStringLiteral("malformed"), QStringLiteral("\"verdict\" must be accepted, flagged or none")));
            return;
        }
        if (!done) {
            reply(s, m, Protocol::error(done.error().category == ErrorCategory::Missing ? QStringLiteral("missing") : QStringLiteral("database"),
                                        done.error().message));
            return;
        }
        auto marks = audit.marks({image});
        QJsonObject out{{QStringLiteral("type"), QStringLiteral("ok")}, {QStringLiteral("image"), static_cast<double>(image)}};
        if (marks && marks->contains(image))
            out.insert(QStringLiteral("mark"), markJson(marks->value(image)));
        reply(s, m, out);
    } else if (t == QLatin1StringView("audit-marks")) {
        auto marks = Jobs::AuditStore(*m_store).marks(integers(m.value(QStringLiteral("images"))));
        if (!marks) {
            reply(s, m, Protocol::error(QStringLiteral("database"), marks.error().message));
            return;
        }
        QJsonObject out;
        for (auto it = marks->cbegin(); it != marks->cend(); ++it)
            out.insert(QString::number(it.key()), markJson(*it));
        reply(s, m, QJsonObject{{QStringLiteral("type"), t}, {QStringLiteral("marks"), out}});
    } else if (t == QLatin1StringView("audit-summary")) {
        auto quality = Jobs::AuditStore(*m_store).quality(m.value(QStringLiteral("finished")).toBool(true));
        if (!quality) {
            reply(s, m, Protocol::error(QStringLiteral("database"), quality.error().message));
            return;
        }
        QJsonArray rows;
        for (const auto &q : *quality) {
            QJsonObject row{{QStringLiteral("dataset"), static_cast<double>(q.datasetId)},
                            {QStringLiteral("root"), q.root},
                            {QStringLiteral("finished"), q.finished >= 0 ? QJsonValue(static_cast<double>(q.finished)) : QJsonValue()},
                            {QStringLiteral("marked"), static_cast<double>(q.marked())},
                            {QStringLiteral("accepted"), static_cast<double>(q.accepted)},
                            {QStringLiteral("flagged"), static_cast<double>(q.flagged)}};
            if (auto rate = q.rate())
                row.insert(QStringLiteral("rate"), *rate);
            rows.append(row);
        }
        reply(s, m, QJsonObject{{QStringLiteral("type"), t}, {QStringLiteral("datasets"), rows}});
    } else if (t == QLatin1StringView("audit-sample")) {
        const auto mode = Jobs::modeFromName(m.value(QStringLiteral("mode")).toString());
        if (!mode) {
            reply(s, m, Protocol::error(QStringLiteral("malformed"), QStringLiteral("\"mode\" must be random, per-dataset or extremes")));
            return;
        }
        Jobs::AuditSampleParams params;
        params.mode = *mode;
        if (m.value(QStringLiteral("k")).isDouble())
            params.k = static_cast<int>(integer(m, "k"));
        params.seed = static_cast<quint64>(integer(m, "seed"));
        params.classIndex = static_cast<int>(integer(m, "class"));
        if (params.mode == Jobs::AuditMode::Extremes) {
            if (!m.value(QStringLiteral("class")).isDouble()) {
                reply(s, m, Protocol::error(QStringLiteral("malformed"), QStringLiteral("an extremes sample needs a \"class\"")));
                return;
            }
            if (params.classIndex >= m_settings.classNames().size()) {
                reply(s, m, Protocol::error(QStringLiteral("malformed"), QStringLiteral("class %1 is not one of the study's %2 classes")
                                                                              .arg(params.classIndex)
                                                                              .arg(m_settings.classNames().size())));
                return;
            }
        }
        if (params.mode == Jobs::AuditMode::PerDataset) {
            // One reply carries the sample: keep it to a size every client reads.
            auto datasets = Jobs::ErrorLog(*m_store).datasets();
            const qint64 most = datasets ? static_cast<qint64>(datasets->size()) * params.k : 0;
            if (most > kMaxAuditRows) {
                reply(s, m, Protocol::error(QStringLiteral("malformed"), QStringLiteral("%1 per dataset over %2 datasets is up to %3 images; "
                                                                                        "ask for at most %4 in all")
                                                                              .arg(params.k)
                                                                              .arg(datasets->size())
                                                                              .arg(most)
                                                                              .arg(kMaxAuditRows)));
                return;
            }
        }
        // Read a page of results per turn of the event loop: a draw over a million images
        // never holds up leases and results for long. The reply goes to the peer directly.
        auto draw = std::make_shared<AuditDraw>(params);
        std::shared_ptr<Peer> peer = s.peer;
        const QJsonValue id = m.value(QStringLiteral("id"));
        auto answer = [peer, id](QJsonObject r) {
            if (!id.isUndefined())
                r.insert(QStringLiteral("id"), id);
            peer->send(r);
        };
        // step holds the draw by a plain pointer and each queued call by a shared one, so
        // the draw is freed once nothing is queued for it (here or with this coordinator).
        draw->step = [this, d = draw.get(), answer] {
            if (!m_store)
                return;
            Jobs::AuditStore audit(*m_store);
            auto fed = audit.feed(d->sampler, d->next);
            if (!fed) {
                answer(Protocol::error(QStringLiteral("database"), fed.error().message));
                return;
            }
            d->next = *fed;
            if (d->next >= 0) {
                QTimer::singleShot(0, this, [self = d->shared_from_this()] { self->step(); });
                return;
            }
            auto items = audit.items(d->sampler.picks());
            if (!items) {
                answer(Protocol::error(QStringLiteral("database"), items.error().message));
                return;
            }
            QJsonArray rows;
            for (const auto &item : *items) {
                QJsonObject row{{QStringLiteral("image"), static_cast<double>(item.imageId)},
                                {QStringLiteral("dataset"), static_cast<double>(item.datasetId)},
                                {QStringLiteral("location"), item.location},
                                {QStringLiteral("label"), item.labelPath},
                                {QStringLiteral("overlay"), item.overlayPath},
                                {QStringLiteral("width"), item.width},
                                {QStringLiteral("height"), item.height}};
                QJsonArray composition;
                for (float v : item.composition)
                    composition.append(static_cast<double>(v));
                row.insert(QStringLiteral("composition"), composition);
                if (item.group != Jobs::AuditItem::Group::None) {
                    row.insert(QStringLiteral("share"), item.share);
                    row.insert(QStringLiteral("group"), item.group == Jobs::AuditItem::Group::Highest ? QStringLiteral("highest")
                                                                                                   : QStringLiteral("lowest"));
                }
                if (item.mark)
                    row.insert(QStringLiteral("mark"), markJson(*item.mark));
                rows.append(row);
            }
            answer(QJsonObject{{QStringLiteral("type"), QStringLiteral("audit-sample")},
                               {QStringLiteral("rows"), rows},
                               {QStringLiteral("scanned"), static_cast<double>(d->sampler.seen())}});
        };
        QTimer::singleShot(0, this, [draw] { draw->step(); });
    }
}

void Coordinator::drainAll()
{
    for (const auto &s : m_sessions) {
        if (s->role == Protocol::Role::Agent && !s->draining) {
            s->draining = true;
            s->peer->send(message(QStringLiteral("drain")));
        }
    }
}

int Coordinator::agentSessions() const
{
    return static_cast<int>(std::count_if(m_sessions.begin(), m_sessions.end(), [](const auto &s) { return s->role == Protocol::Role::Agent; }));
}

Coordinator::Session *Coordinator::sessionNamed(const QString &name, quint64 except)
{
    for (const auto &s : m_sessions)
        if (s->role == Protocol::Role::Agent && s->name == name && s->id != except)
            return s.get();
    return nullptr;
}

void Coordinator::sweep()
{
    if (!m_store)
        return;
    auto expired = m_store->expireLeases();
    if (!expired) {
        log(expired.error().message);
        return;
    }
    if (expired->returnedToPending || expired->failed) {
        log(QStringLiteral("leases expired: %1 images pending again, %2 failed (worker lost too often)")
                .arg(expired->returnedToPending)
                .arg(expired->failed));
        m_dirty = true;
    }
}

void Coordinator::tick()
{
    if (!m_dirty)
        return;
    m_dirty = false;
    Q_EMIT changed();
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    QJsonObject pushed;
    for (const auto &s : m_sessions) {
        if (s->role != Protocol::Role::Admin || s->subscribeMs <= 0)
            continue;
        if (now - s->lastPush < s->subscribeMs) {
            m_dirty = true;  // this subscriber hears about it on a later tick
            continue;
        }
        if (pushed.isEmpty()) {
            pushed = summary();
            pushed.insert(QStringLiteral("type"), QStringLiteral("changed"));
        }
        s->lastPush = now;
        s->peer->send(pushed);
    }
}

void Coordinator::log(const QString &line)
{
    Q_EMIT logged(line);
}

} // namespace SegScale::Cluster
