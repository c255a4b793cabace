#include "agent/agent.h"

#include "agent/acceleratorusage.h"
#include "agent/checkrunner.h"

#include "cluster/protocol.h"
#include "jobs/jobtypes.h"
#include "model/modelcard.h"
#include "model/network.h"
#include "pipeline/engine.h"
#include "pipeline/imagedecoder.h"
#include "pipeline/networkfactory.h"
#include "pipeline/outputwriter.h"
#include "pipeline/precision.h"
#include "pipeline/storagefetcher.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QPointer>
#include <QSysInfo>

#include <condition_variable>
#include <deque>
#include <mutex>

namespace SegScale::Agent {
namespace {

qint64 integer(const QJsonObject &m, const char *key)
{
    return static_cast<qint64>(m.value(QLatin1StringView(key)).toDouble());
}

QString type(const QJsonObject &m)
{
    return m.value(QStringLiteral("type")).toString();
}

qint64 residentMiB()
{
    QFile f(QStringLiteral("/proc/self/statm"));
    if (!f.open(QIODevice::ReadOnly))
        return 0;
    const QList<QByteArray> parts = f.readAll().split(' ');
    return parts.size() > 1 ? parts[1].toLongLong() * 4096 / (1024 * 1024) : 0;
}

} // namespace

// The engine's image source: leased images queued by the agent's thread, taken by the
// engine's fetch thread. next() blocks while the queue is empty and more may come.
class Agent::LeaseQueue final : public Pipeline::ImageSource {
public:
    LeaseQueue(Agent *agent, Pipeline::StorageFetcher *fetcher) : m_agent(agent), m_fetcher(fetcher) {}

    void push(const Jobs::LeasedImage &img)
    {
        {
            std::lock_guard lock(m_mutex);
            m_items.push_back(img);
        }
        m_wake.notify_all();
    }
    void finish()
    {
        {
            std::lock_guard lock(m_mutex);
            m_finished = true;
        }
        m_wake.notify_all();
    }
    // Images not yet taken by the engine, removed from the queue.
    QList<qint64> takeUnstarted()
    {
        std::lock_guard lock(m_mutex);
        QList<qint64> out;
        for (const auto &img : m_items)
            out.append(img.imageId);
        m_items.clear();
        return out;
    }
    qsizetype queued()
    {
        std::lock_guard lock(m_mutex);
        return static_cast<qsizetype>(m_items.size());
    }

    std::optional<Pipeline::ImageTask> next() override
    {
        Jobs::LeasedImage img;
        {
            std::unique_lock lock(m_mutex);
            m_wake.wait(lock, [&] { return m_finished || !m_items.empty(); });
            if (m_items.empty())
                return std::nullopt;
            img = m_items.front();
            m_items.pop_front();
        }
        QPointer<Agent> agent = m_agent;
        const qint64 id = img.imageId;
        QMetaObject::invokeMethod(m_agent, [agent, id] { if (agent) agent->engineStarted(id); }, Qt::QueuedConnection);
        Pipeline::ImageTask task;
        task.id = img.imageId;
        task.name = Pipeline::StorageFetcher::location(img.storageUrl, img.location());
        // labels/<dataset id>/<path in the dataset>.png: unique per image even when two
        // datasets hold the same relative path.
        task.outputStem = QString::number(img.datasetId) + QLatin1Char('/') + img.path;
        Pipeline::StorageFetcher *fetcher = m_fetcher;
        const Pipeline::DecodeOptions limits;
        task.fetch = [fetcher, location = task.name, limits]() -> Result<QByteArray> {
            if (fetcher)
                return fetcher->fetch(location, limits);
            return Pipeline::ImageDecoder::readFile(location, limits);
        };
        return task;
    }

private:
    Agent *m_agent;
    Pipeline::StorageFetcher *m_fetcher;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::deque<Jobs::LeasedImage> m_items;
    bool m_finished = false;
};

// The engine's sink: each result becomes a protocol message handed to the agent's thread.
class Agent::Forwarder final : public Pipeline::ResultSink {
public:
    Forwarder(Agent *agent, QByteArray fingerprint) : m_agent(agent), m_fingerprint(std::move(fingerprint)) {}

    void imageDone(const Pipeline::ImageResult &r) override
    {
        QJsonArray composition;
        for (double v : r.composition)
            composition.append(v);
        const auto ms = [](double s) { return static_cast<double>(qRound64(s * 1000.0)); };
        QJsonObject m{{QStringLiteral("type"), QStringLiteral("result")},
                      {QStringLiteral("image"), static_cast<double>(r.task.id)},
                      {QStringLiteral("width"), r.width},
                      {QStringLiteral("height"), r.height},
                      {QStringLiteral("composition"), composition},
                      {QStringLiteral("fingerprint"), QString::fromLatin1(m_fingerprint)},
                      {QStringLiteral("timings"), QJsonObject{{QStringLiteral("fetch"), ms(r.times.fetch)},
                                                              {QStringLiteral("decode"), ms(r.times.decode)},
                                                              {QStringLiteral("preprocess"), ms(r.times.preprocess)},
                                                              {QStringLiteral("network"), ms(r.times.network)},
                                                              {QStringLiteral("combine"), ms(r.times.combine)},
                                                              {QStringLiteral("report"), ms(r.times.report)}}}};
        if (!r.labelPath.isEmpty())
            m.insert(QStringLiteral("label"), r.labelPath);
        if (!r.overlayPath.isEmpty())
            m.insert(QStringLiteral("overlay"), r.overlayPath);
        post(r.task.id, std::move(m));
    }
    void imageFailed(const Pipeline::ImageTask &task, const Error &error) override
    {
        post(task.id, QJsonObject{{QStringLiteral("type"), QStringLiteral("failure")},
                                  {QStringLiteral("image"), static_cast<double>(task.id)},
                                  {QStringLiteral("category"), categoryName(error.category)},
                                  {QStringLiteral("message"), error.message.left(4000)}});
    }

private:
    void post(qint64 image, QJsonObject m)
    {
        QPointer<Agent> agent = m_agent;
        QMetaObject::invokeMethod(m_agent, [agent, image, m = std::move(m)] { if (agent) agent->reportResult(image, m); }, Qt::QueuedConnection);
    }
    Agent *m_agent;
    QByteArray m_fingerprint;
};

Agent::Agent(AgentOptions options, std::unique_ptr<Cluster::CoordinatorClient> client, QObject *parent)
    : QObject(parent), m_options(std::move(options)), m_client(std::move(client)), m_heartbeat(this), m_waitTimer(this), m_reconnect(this)
{
    if (m_options.name.isEmpty())
        m_options.name = QSysInfo::machineHostName() + QLatin1Char('-') + QString::number(QCoreApplication::applicationPid());
    connect(m_client.get(), &Cluster::CoordinatorClient::opened, this, &Agent::onOpened);
    connect(m_client.get(), &Cluster::CoordinatorClient::received, this, &Agent::onMessage);
    connect(m_client.get(), &Cluster::CoordinatorClient::closed, this, &Agent::onClosed);
    connect(&m_heartbeat, &QTimer::timeout, this, &Agent::sendHeartbeat);
    m_waitTimer.setSingleShot(true);
    connect(&m_waitTimer, &QTimer::timeout, this, &Agent::askForWork);
    m_reconnect.setSingleShot(true);
    connect(&m_reconnect, &QTimer::timeout, this, [this] { m_client->open(); });
    m_clock.start();
}

Agent::~Agent()
{
    if (m_stopEngine)
        m_stopEngine(true);
    if (m_queue)
        m_queue->finish();
    if (m_engineThread.joinable())
        m_engineThread.join();
}

void Agent::start()
{
    log(QStringLiteral("agent %1: connecting to %2").arg(m_options.name, m_client->describe()));
    m_client->open();
}

void Agent::log(const QString &line)
{
    Q_EMIT logged(line);
}

void Agent::onOpened()
{
    QJsonObject hello{{QStringLiteral("type"), QStringLiteral("hello")},
                      {QStringLiteral("protocol"), Cluster::Protocol::kVersion},
                      {QStringLiteral("role"), QStringLiteral("agent")},
                      {QStringLiteral("name"), m_options.name},
                      {QStringLiteral("host"), QSysInfo::machineHostName()},
                      {QStringLiteral("device"), m_options.device},
                      {QStringLiteral("threads"), m_options.threads},
                      {QStringLiteral("version"), QCoreApplication::applicationVersion()},
                      {QStringLiteral("fresh"), !m_everWelcomed},
                      {QStringLiteral("capabilities"), QJsonArray{QStringLiteral("model-chunk")}}};
    if (m_options.precision)
        hello.insert(QStringLiteral("precision"), Pipeline::precisionName(*m_options.precision));
    if (!m_options.token.isEmpty())
        hello.insert(QStringLiteral("token"), QString::fromUtf8(m_options.token));
    m_client->send(hello);
}

void Agent::onClosed(const QString &reason)
{
    m_welcomed = false;
    m_asking = false;
    m_heartbeat.stop();
    m_waitTimer.stop();
    if (m_finished)
        return;
    if (m_refused) {
        finish(2, m_summary.message);
        return;
    }
    if (m_stopping) {
        finish(0, QStringLiteral("stopped"));
        return;
    }
    log(QStringLiteral("connection to the coordinator lost (%1); reconnecting in %2 s").arg(reason).arg(m_backoffMs / 1000.0));
    reconnectLater();
}

void Agent::reconnectLater()
{
    m_reconnect.start(m_backoffMs);
    m_backoffMs = std::min(m_backoffMs * 2, std::max(500, m_options.reconnectMaxMs));
}

void Agent::onMessage(const QJsonObject &m)
{
    const QString t = type(m);
    if (t == QLatin1StringView("welcome"))
        onWelcome(m);
    else if (t == QLatin1StringView("grant"))
        onGrant(m);
    else if (t == QLatin1StringView("wait")) {
        m_asking = false;
        m_waitTimer.start(static_cast<int>(std::clamp<qint64>(integer(m, "seconds"), 1, 60) * 1000));
    } else if (t == QLatin1StringView("done")) {
        m_asking = false;
        if (m_options.stay) {
            m_waitTimer.start(5000);
        } else {
            m_noMoreWork = true;
            if (m_queue)
                m_queue->finish();
            maybeFinish();
        }
    } else if (t == QLatin1StringView("ack"))
        onAck(m);
    else if (t == QLatin1StringView("model-data")) {
        QFile part(m_modelPartPath);
        const qint64 offset = integer(m, "offset");
        if (!part.open(offset == 0 ? QIODevice::WriteOnly | QIODevice::Truncate : QIODevice::Append) || part.size() != offset) {
            finish(1, QStringLiteral("cannot write the model to %1: %2").arg(m_modelPartPath, part.errorString()));
            return;
        }
        const QByteArray data = QByteArray::fromBase64(m.value(QStringLiteral("data")).toString().toLatin1());
        part.write(data);
        part.close();
        if (m.value(QStringLiteral("eof")).toBool()) {
            // Several agents on one machine may share the cache: each downloads to a
            // file of its own and the first complete one is renamed into place (both are
            // checked against the study's fingerprint before use).
            const QString complete = m_modelPartPath.left(m_modelPartPath.lastIndexOf(QStringLiteral(".part-")));
            if (!QFile::rename(m_modelPartPath, complete))
                QFile::remove(m_modelPartPath);
            log(QStringLiteral("model fetched from the coordinator (%1 bytes)").arg(QFileInfo(complete).size()));
            if (auto r = prepareModel(); !r) {
                m_refused = true;
                finish(2, r.error().message);
                return;
            }
            beginWork();
        } else {
            fetchModelChunk(offset + data.size());
        }
    } else if (t == QLatin1StringView("check-image"))
        onCheckImage(m);
    else if (t == QLatin1StringView("drain"))
        drain();
    else if (t == QLatin1StringView("stop"))
        stop();
    else if (t == QLatin1StringView("error")) {
        const QString code = m.value(QStringLiteral("code")).toString();
        const QString text = m.value(QStringLiteral("message")).toString();
        log(QStringLiteral("coordinator: %1 (%2)").arg(text, code));
        if (code == QLatin1StringView("auth") || code == QLatin1StringView("version") || code == QLatin1StringView("model") ||
            code == QLatin1StringView("check")) {
            m_refused = true;
            m_summary.message = text;
        } else if (code == QLatin1StringView("malformed") || code == QLatin1StringView("too-large")) {
            // The coordinator refused what this agent sent: a bug or a version skew that
            // reconnecting would only repeat.
            finish(1, QStringLiteral("the coordinator refused a message of this agent: ") + text);
        }
    }
}

void Agent::onWelcome(const QJsonObject &m)
{
    m_welcomed = true;
    m_backoffMs = 500;
    const int heartbeatSeconds = static_cast<int>(std::clamp<qint64>(integer(m, "heartbeat_seconds"), 1, 3600));
    m_heartbeat.start(heartbeatSeconds * 1000);
    if (m_everWelcomed) {
        // Back after a lost connection: what was never acknowledged goes again.
        log(QStringLiteral("reconnected; sending %1 unacknowledged results again").arg(m_unacked.size()));
        for (const QJsonObject &r : std::as_const(m_unacked))
            m_client->send(r);
        sendHeartbeat();
        if (!m_network) {
            // The connection went while the model was being fetched: start that again.
            prepareAndBegin();
        } else if (!m_queue) {
            beginWork();  // still proving the check images
        } else {
            // A new session (a restarted coordinator) knows nothing of the check this
            // process already passed with this model and build: say it again.
            if (m_checkAgreement >= 0)
                m_client->send(QJsonObject{{QStringLiteral("type"), QStringLiteral("check-result")},
                                           {QStringLiteral("passed"), true},
                                           {QStringLiteral("agreement"), m_checkAgreement}});
            if (!m_draining && !m_noMoreWork)
                askForWork();
            maybeFinish();
        }
        return;
    }
    m_everWelcomed = true;
    m_settings = Jobs::StudySettings::fromJson(m.value(QStringLiteral("settings")).toObject());
    m_outputs = m_options.out.isEmpty() ? m.value(QStringLiteral("outputs")).toString() : m_options.out;
    m_modelSize = integer(m, "model_size");
    m_checkCount = static_cast<int>(integer(m, "check_images"));
    if (m_options.prepared) {
        const auto &p = *m_options.prepared;
        m_network = p.network;
        m_fetcher = p.fetcher;
        m_writer = p.writer;
        startEngine(p.segment);
        askForWork();
        return;
    }
    prepareAndBegin();
}

void Agent::prepareAndBegin()
{
    auto prepared = prepareModel();
    if (!prepared) {
        if (prepared.error().category == ErrorCategory::Missing) {
            // Not cached yet: fetch it from the coordinator, then prepare again.
            fetchModelChunk(0);
            return;
        }
        m_refused = true;
        finish(2, prepared.error().message);
        return;
    }
    beginWork();
}

// Finds the study's model: the local copy named with modelPath, or the cached download.
// Missing: not downloaded yet. Model: a copy that differs from the study's.
Result<void> Agent::prepareModel()
{
    const QByteArray expected = m_settings.modelFingerprint;
    Result<Model::ModelCard> card = Error{ErrorCategory::Missing, QString()};
    if (!m_options.modelPath.isEmpty()) {
        card = Model::ModelCard::load(m_options.modelPath);
        if (!card)
            return Error{ErrorCategory::Model, card.error().message};
    } else {
        const QString dir = QDir(m_options.modelCache).filePath(QString::fromLatin1(expected.left(32)));
        QJsonObject cardJson = m_settings.modelCard;
        cardJson.remove(QStringLiteral("directory"));
        auto fromStudy = Model::ModelCard::fromJson(cardJson, dir);
        if (!fromStudy)
            return Error{ErrorCategory::Model, QStringLiteral("the study's model card is unusable: ") + fromStudy.error().message};
        if (!QDir().mkpath(dir))
            return Error{ErrorCategory::Unreadable, QStringLiteral("cannot create the model cache %1").arg(dir)};
        m_modelPartPath = fromStudy->weightsPath() + QStringLiteral(".part-") + QString::number(QCoreApplication::applicationPid());
        if (!fromStudy->randomInit && !QFileInfo::exists(fromStudy->weightsPath()))
            return Error{ErrorCategory::Missing, QStringLiteral("not cached")};
        card = std::move(fromStudy);
    }
    auto fingerprint = card->fingerprint();
    if (!fingerprint)
        return Error{ErrorCategory::Model, fingerprint.error().message};
    if (*fingerprint != expected) {
        const QString where = m_options.modelPath.isEmpty() ? card->weightsPath() : m_options.modelPath;
        if (m_options.modelPath.isEmpty())
            QFile::remove(card->weightsPath());  // a damaged download: the next start fetches it again
        return Error{ErrorCategory::Model, QStringLiteral("the model at %1 is not the study's: fingerprint %2…, the study's is %3…; "
                                                          "refusing to write results with it")
                                               .arg(where, QString::fromLatin1(fingerprint->left(12)), QString::fromLatin1(expected.left(12)))};
    }
    Pipeline::SegmentOptions o = Pipeline::SegmentOptions::fromCard(*card);
    o.scales = m_settings.scales;
    o.baseSize = m_settings.baseSize;
    o.crop = m_settings.crop;
    o.flip = m_settings.flip;
    o.strideRate = m_settings.strideRate;
    o.batch = m_settings.batch > 1 ? m_settings.batch : 0;
    o.device = m_options.device;
    o.threads = m_options.threads;
    o.overlays = m_options.overlays;
    auto precision = Pipeline::parsePrecision(m_settings.precision.isEmpty() ? QStringLiteral("fp32") : m_settings.precision);
    if (!precision)
        return Error{ErrorCategory::Usage, QStringLiteral("the study records an unknown precision: ") + precision.error().message};
    o.precision = m_options.precision.value_or(*precision);
    if (o.precision == Pipeline::Precision::Float16 && !o.onCuda())
        return Error{ErrorCategory::Usage, QStringLiteral("this study runs in fp16, which needs --device cuda")};
    auto network = Pipeline::loadNetwork(*card, o);
    if (!network)
        return Error{ErrorCategory::Model, network.error().message};
    m_network = *network;
    if (auto r = prepareOutputs(*card, o); !r)
        return r;
    m_segment = o;
    return {};
}

// The model is ready: prove it reproduces the study's check images, then work.
void Agent::beginWork()
{
    if (m_checkCount > 0 && m_checks.size() < m_checkCount) {
        if (m_checks.isEmpty())
            log(QStringLiteral("segmenting the study's %1 check images before taking work").arg(m_checkCount));
        m_client->send(QJsonObject{{QStringLiteral("type"), QStringLiteral("check")}, {QStringLiteral("index"), static_cast<int>(m_checks.size())}});
        return;
    }
    if (m_checkCount > 0) {
        auto verified = CheckRunner::verify(m_network, m_segment, m_checks);
        if (!verified) {
            m_client->send(QJsonObject{{QStringLiteral("type"), QStringLiteral("check-result")},
                                       {QStringLiteral("passed"), false},
                                       {QStringLiteral("message"), verified.error().message.left(2000)}});
            m_refused = true;
            finish(2, verified.error().message);
            return;
        }
        log(QStringLiteral("check images reproduced (worst agreement %1%)").arg(100.0 * *verified, 0, 'f', 3));
        m_checkAgreement = *verified;
        m_client->send(QJsonObject{{QStringLiteral("type"), QStringLiteral("check-result")},
                                   {QStringLiteral("passed"), true},
                                   {QStringLiteral("agreement"), *verified}});
    }
    startEngine(m_segment);
    askForWork();
}

void Agent::onCheckImage(const QJsonObject &m)
{
    m_checkCount = static_cast<int>(integer(m, "count"));
    if (integer(m, "index") != m_checks.size() || m_checks.size() >= m_checkCount) {
        beginWork();
        return;
    }
    Jobs::CheckImage c;
    c.location = m.value(QStringLiteral("location")).toString();
    c.image = QByteArray::fromBase64(m.value(QStringLiteral("image")).toString().toLatin1());
    c.labelsPng = QByteArray::fromBase64(m.value(QStringLiteral("labels")).toString().toLatin1());
    c.minAgreement = m.value(QStringLiteral("min_agreement")).toDouble(1.0);
    m_checks.append(std::move(c));
    beginWork();
}

Result<void> Agent::prepareOutputs(const Model::ModelCard &card, const Pipeline::SegmentOptions &o)
{
    m_ownFetcher = std::make_unique<Pipeline::StorageFetcher>(m_options.credentials, m_options.storage);
    m_fetcher = m_ownFetcher.get();
    std::shared_ptr<Storage::Storage> labelStorage;
    QString labelDir = m_outputs.isEmpty() ? QStringLiteral("segscale-outputs") : m_outputs;
    if (Pipeline::StorageFetcher::isRemote(labelDir)) {
        auto url = Pipeline::StorageFetcher::parseRemote(labelDir);
        if (!url)
            return Error{ErrorCategory::Usage, QStringLiteral("outputs: ") + url.error().message};
        auto storage = m_fetcher->storageFor(*url);
        if (!storage)
            return Error{ErrorCategory::Usage, QStringLiteral("outputs: ") + storage.error().toString()};
        labelStorage = *storage;
        labelDir = url->path;
    }
    m_ownWriter = std::make_unique<Pipeline::OutputWriter>(labelDir, card.palette, o.overlays, m_network->untrained(), labelStorage);
    if (auto r = m_ownWriter->prepare(); !r)
        return Error{ErrorCategory::Usage, r.error().message};
    m_writer = m_ownWriter.get();
    log(QStringLiteral("model: %1; labels in %2").arg(m_network->describe(), m_outputs.isEmpty() ? labelDir : m_outputs));
    return {};
}

void Agent::startEngine(const Pipeline::SegmentOptions &o)
{
    m_queue = std::make_unique<LeaseQueue>(this, m_fetcher);
    m_forwarder = std::make_unique<Forwarder>(this, m_settings.modelFingerprint);
    auto engine = std::make_shared<Pipeline::Engine>(m_network, o, m_writer);
    m_stopEngine = [engine](bool hard) {
        if (hard)
            engine->abort();
        else
            engine->cancel();
    };
    m_engineRunning = true;
    m_engineThread = std::thread([this, engine] {
        Pipeline::RunStats stats = engine->run(*m_queue, *m_forwarder);
        QPointer<Agent> self = this;
        QMetaObject::invokeMethod(this, [self, stats] {
            if (self) {
                self->m_summary.stats = stats;
                self->engineFinished();
            }
        }, Qt::QueuedConnection);
    });
}

void Agent::fetchModelChunk(qint64 offset)
{
    if (offset == 0)
        log(QStringLiteral("fetching the study's model from the coordinator (%1 MB)").arg(m_modelSize / 1e6, 0, 'f', 1));
    m_client->send(QJsonObject{{QStringLiteral("type"), QStringLiteral("model-chunk")}, {QStringLiteral("offset"), static_cast<double>(offset)}});
}

void Agent::askForWork()
{
    if (!m_welcomed || m_asking || m_draining || m_stopping || m_noMoreWork || !m_queue)
        return;
    const int target = m_options.prefetch > 0 ? m_options.prefetch : 4;
    const qsizetype queued = m_queue->queued();
    if (queued >= target)
        return;
    m_asking = true;
    m_client->send(QJsonObject{{QStringLiteral("type"), QStringLiteral("lease")}, {QStringLiteral("n"), static_cast<int>(target - queued)}});
}

void Agent::onGrant(const QJsonObject &m)
{
    m_asking = false;
    const QJsonArray images = m.value(QStringLiteral("images")).toArray();
    QJsonArray refused;
    for (const QJsonValue &v : images) {
        const QJsonObject o = v.toObject();
        Jobs::LeasedImage img;
        img.imageId = integer(o, "image");
        img.leaseId = Cluster::Protocol::leaseId(o.value(QStringLiteral("lease")));
        img.datasetId = integer(o, "dataset");
        img.storageUrl = o.value(QStringLiteral("storage")).toString();
        img.root = o.value(QStringLiteral("root")).toString();
        img.path = o.value(QStringLiteral("path")).toString();
        img.size = integer(o, "size");
        if (m_draining || m_stopping || !m_queue) {
            refused.append(static_cast<double>(img.imageId));
            continue;
        }
        m_held.insert(img.imageId, Held{img.leaseId, false});
        m_queue->push(img);
    }
    if (!refused.isEmpty())
        m_client->send(QJsonObject{{QStringLiteral("type"), QStringLiteral("release")}, {QStringLiteral("images"), refused}});
    // Keep the queue topped up: ask again right away while it is short.
    askForWork();
}

void Agent::engineStarted(qint64 image)
{
    if (auto it = m_held.find(image); it != m_held.end())
        it->started = true;
    askForWork();
}

void Agent::reportResult(qint64 image, QJsonObject message)
{
    const auto it = m_held.constFind(image);
    if (it == m_held.constEnd())
        return;  // handed back already (stop)
    message.insert(QStringLiteral("lease"), Cluster::Protocol::leaseIdValue(it->lease));
    m_unacked.insert(image, message);
    if (m_welcomed)
        m_client->send(message);
}

void Agent::onAck(const QJsonObject &m)
{
    const qint64 image = integer(m, "image");
    if (!m_unacked.contains(image) || Cluster::Protocol::leaseId(m.value(QStringLiteral("lease"))) != m_held.value(image).lease)
        return;
    m_unacked.remove(image);
    m_held.remove(image);
    const QString outcome = m.value(QStringLiteral("outcome")).toString();
    if (outcome == QLatin1StringView("done"))
        ++m_summary.done;
    else if (outcome == QLatin1StringView("stale") || outcome == QLatin1StringView("rejected"))
        ++m_summary.stale;
    else if (outcome == QLatin1StringView("retry"))
        ++m_summary.retrying;
    else
        ++m_summary.failed;
    Q_EMIT progressed(m_summary.done, m_summary.failed);
    maybeFinish();
}

void Agent::sendHeartbeat()
{
    if (!m_welcomed)
        return;
    QJsonArray leases;
    QList<qint64> seen;
    for (const Held &h : std::as_const(m_held)) {
        if (!seen.contains(h.lease)) {
            seen.append(h.lease);
            leases.append(Cluster::Protocol::leaseIdValue(h.lease));
        }
    }
    const double seconds = std::max(1e-3, m_clock.elapsed() / 1000.0);
    if (!m_accelerator)
        m_accelerator = std::make_unique<AcceleratorUsage>(m_options.device);
    QJsonObject beat{{QStringLiteral("type"), QStringLiteral("heartbeat")},
                     {QStringLiteral("leases"), leases},
                     {QStringLiteral("stats"), QJsonObject{{QStringLiteral("images_per_second"), m_summary.done / seconds},
                                                           {QStringLiteral("queued"), static_cast<double>(m_queue ? m_queue->queued() : 0)},
                                                           {QStringLiteral("held"), static_cast<double>(m_held.size())},
                                                           {QStringLiteral("unacked"), static_cast<double>(m_unacked.size())},
                                                           {QStringLiteral("done"), static_cast<double>(m_summary.done)},
                                                           {QStringLiteral("rss_mib"), static_cast<double>(residentMiB())}}}};
    if (auto accelerator = m_accelerator->sample())
        beat.insert(QStringLiteral("accelerator"), *accelerator);
    m_client->send(beat);
}

void Agent::drain()
{
    if (m_draining || m_finished)
        return;
    m_draining = true;
    log(QStringLiteral("draining: finishing the images in flight, handing back the rest"));
    m_waitTimer.stop();
    if (m_queue) {
        const QList<qint64> unstarted = m_queue->takeUnstarted();
        QJsonArray ids;
        for (qint64 id : unstarted) {
            ids.append(static_cast<double>(id));
            m_held.remove(id);
        }
        if (!ids.isEmpty() && m_welcomed)
            m_client->send(QJsonObject{{QStringLiteral("type"), QStringLiteral("release")}, {QStringLiteral("images"), ids}});
        m_queue->finish();
    }
    maybeFinish();
}

void Agent::stop()
{
    if (m_finished)
        return;
    m_stopping = true;
    m_draining = true;
    log(QStringLiteral("stopping: images in flight go back to the study"));
    if (m_stopEngine)
        m_stopEngine(true);
    if (m_queue)
        m_queue->finish();
    QJsonArray release;
    for (auto it = m_held.cbegin(); it != m_held.cend(); ++it)
        if (!m_unacked.contains(it.key()))
            release.append(static_cast<double>(it.key()));
    if (m_welcomed)
        m_client->send(QJsonObject{{QStringLiteral("type"), QStringLiteral("bye")}, {QStringLiteral("release"), release}});
    finish(0, QStringLiteral("stopped"));
}

void Agent::engineFinished()
{
    m_engineRunning = false;
    maybeFinish();
}

void Agent::maybeFinish()
{
    if (m_finished || !(m_noMoreWork || m_draining))
        return;
    if (m_engineRunning || !m_unacked.isEmpty() || !m_welcomed)
        return;
    // Everything taken was reported and acknowledged; hand back anything never started.
    QJsonArray release;
    for (auto it = m_held.cbegin(); it != m_held.cend(); ++it)
        release.append(static_cast<double>(it.key()));
    m_client->send(QJsonObject{{QStringLiteral("type"), QStringLiteral("bye")}, {QStringLiteral("release"), release}});
    finish(0, m_draining ? QStringLiteral("drained") : QStringLiteral("the study has no work left"));
}

void Agent::finish(int exitCode, const QString &message)
{
    if (m_finished)
        return;
    m_finished = true;
    m_heartbeat.stop();
    m_waitTimer.stop();
    m_reconnect.stop();
    if (m_stopEngine && exitCode != 0)
        m_stopEngine(true);
    if (m_queue)
        m_queue->finish();
    if (m_engineThread.joinable())
        m_engineThread.join();
    m_summary.exitCode = exitCode;
    if (!message.isEmpty())
        m_summary.message = message;
    log(QStringLiteral("agent %1: %2 (%3 done, %4 failed, %5 stale)")
            .arg(m_options.name, m_summary.message)
            .arg(m_summary.done)
            .arg(m_summary.failed)
            .arg(m_summary.stale));
    m_client->close();
    Q_EMIT finished(m_summary);
}

} // namespace SegScale::Agent
