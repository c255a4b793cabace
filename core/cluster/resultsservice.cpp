#include "cluster/resultsservice.h"

#include "cluster/protocol.h"
#include "jobs/resultsquery.h"
#include "jobs/studyexporter.h"
#include "storage/storage.h"

#include <QBuffer>
#include <QJsonArray>

#include <cmath>

namespace SegScale::Cluster {

namespace {

QJsonObject errorReply(const Error &e)
{
    QString code;
    switch (e.category) {
    case ErrorCategory::Usage: code = QStringLiteral("malformed"); break;
    case ErrorCategory::Missing: code = QStringLiteral("missing"); break;
    default: code = QStringLiteral("database"); break;
    }
    return Protocol::error(code, e.message);
}

QJsonObject usage(const QString &message)
{
    return Protocol::error(QStringLiteral("malformed"), message);
}

qint64 integer(const QJsonObject &m, const char *key, qint64 fallback = 0)
{
    const QJsonValue v = m.value(QLatin1StringView(key));
    return v.isDouble() ? static_cast<qint64>(v.toDouble()) : fallback;
}

} // namespace

ResultsService::ResultsService(Jobs::JobStore &store, QString outputs) : m_store(store), m_outputs(std::move(outputs)) {}

ResultsService::~ResultsService() = default;

bool ResultsService::handles(const QString &type)
{
    return type == QLatin1StringView("results") || type == QLatin1StringView("composition") || type == QLatin1StringView("export") ||
           type == QLatin1StringView("image");
}

QJsonObject ResultsService::handle(const QJsonObject &m)
{
    const QString t = m.value(QStringLiteral("type")).toString();
    if (t == QLatin1StringView("results"))
        return results(m);
    if (t == QLatin1StringView("composition"))
        return composition();
    if (t == QLatin1StringView("export"))
        return exportPage(m);
    return image(m);
}

QJsonObject ResultsService::results(const QJsonObject &m)
{
    const qint64 after = integer(m, "after");
    const int limit = static_cast<int>(integer(m, "limit", 100));
    Jobs::ResultsQuery query(m_store);
    Jobs::ResultsQuery::Options o;
    const bool wantsSort = m.contains(QStringLiteral("sort")) || m.contains(QStringLiteral("where"));
    if (wantsSort) {
        auto classes = query.classes();
        if (!classes)
            return errorReply(classes.error());
        const QString sort = m.value(QStringLiteral("sort")).toString();
        if (!sort.isEmpty() && sort != QLatin1StringView("image")) {
            auto cls = Jobs::ResultsQuery::classIndex(sort, *classes);
            if (!cls)
                return errorReply(cls.error());
            o.sortClass = *cls;
        }
        for (const QJsonValue &w : m.value(QStringLiteral("where")).toArray()) {
            auto c = Jobs::ResultsQuery::parseCondition(w.toString(), *classes);
            if (!c)
                return errorReply(c.error());
            o.conditions.append(*c);
        }
    }
    const QString order = m.value(QStringLiteral("order")).toString();
    if (!order.isEmpty() && order != QLatin1StringView("asc") && order != QLatin1StringView("desc"))
        return usage(QStringLiteral("\"order\" must be \"asc\" or \"desc\", not \"%1\"").arg(order));
    o.descending = order == QLatin1StringView("desc");
    if (m.value(QStringLiteral("dataset")).isDouble())
        o.datasetId = integer(m, "dataset");
    auto page = query.page(o, after, limit);
    if (!page)
        return errorReply(page.error());
    QJsonArray rows;
    qint64 last = after;
    for (const auto &row : *page) {
        const Jobs::ResultRecord &r = row.record;
        QJsonArray composition;
        for (float v : r.composition)
            composition.append(static_cast<double>(v));
        rows.append(QJsonObject{{QStringLiteral("image"), static_cast<double>(r.imageId)},
                                {QStringLiteral("location"), r.location},
                                {QStringLiteral("dataset"), static_cast<double>(row.datasetId)},
                                {QStringLiteral("dataset_root"), row.datasetRoot},
                                {QStringLiteral("width"), r.width},
                                {QStringLiteral("height"), r.height},
                                {QStringLiteral("composition"), composition},
                                {QStringLiteral("label"), r.labelPath},
                                {QStringLiteral("at"), static_cast<double>(r.atMs)}});
        last = r.imageId;
    }
    QJsonObject reply{{QStringLiteral("type"), QStringLiteral("results")}, {QStringLiteral("rows"), rows}};
    // The key of the next page (the last image: a sorted page looks its share up again);
    // absent on the last one.
    if (rows.size() == limit)
        reply.insert(QStringLiteral("next"), static_cast<double>(last));
    return reply;
}

QJsonObject ResultsService::composition()
{
    Jobs::ResultsQuery query(m_store);
    auto classes = query.classes();
    if (!classes)
        return errorReply(classes.error());
    auto means = query.datasetMeans();
    if (!means)
        return errorReply(means.error());
    QJsonArray datasets;
    for (const auto &d : *means) {
        QJsonArray values;
        for (double v : d.means)
            values.append(std::isfinite(v) ? QJsonValue(v) : QJsonValue());
        datasets.append(QJsonObject{{QStringLiteral("dataset"), static_cast<double>(d.datasetId)},
                                    {QStringLiteral("root"), d.root},
                                    {QStringLiteral("results"), static_cast<double>(d.results)},
                                    {QStringLiteral("means"), values}});
    }
    // The palette travels with the classes: the chart and the viewer draw in it.
    QJsonArray palette;
    if (auto settings = m_store.settings(); settings && *settings)
        palette = (*settings)->modelCard.value(QStringLiteral("palette")).toArray();
    return QJsonObject{{QStringLiteral("type"), QStringLiteral("composition")},
                       {QStringLiteral("classes"), QJsonArray::fromStringList(*classes)},
                       {QStringLiteral("palette"), palette},
                       {QStringLiteral("datasets"), datasets}};
}

QJsonObject ResultsService::exportPage(const QJsonObject &m)
{
    const QString format = m.value(QStringLiteral("format")).toString();
    if (format != QLatin1StringView("wide") && format != QLatin1StringView("long"))
        return usage(QStringLiteral("\"format\" must be \"wide\" or \"long\", not \"%1\"").arg(format));
    QBuffer buffer;
    buffer.open(QIODevice::WriteOnly);
    Jobs::StudyExporter exporter(m_store);
    exporter.setAuditColumns(m.value(QStringLiteral("audit")).toBool());  // `study export --audit`
    auto page = exporter.exportCompositionPage(buffer, format == QLatin1StringView("wide") ? Jobs::StudyExporter::Format::Wide
                                                                                            : Jobs::StudyExporter::Format::Long,
                                               integer(m, "after"), static_cast<int>(integer(m, "limit", 5000)), kExportPageBytes);
    if (!page)
        return errorReply(page.error());
    QJsonObject reply{{QStringLiteral("type"), QStringLiteral("export")},
                      {QStringLiteral("csv"), QString::fromUtf8(buffer.data())},
                      {QStringLiteral("rows"), static_cast<double>(page->rows)}};
    if (page->total >= 0)
        reply.insert(QStringLiteral("total"), static_cast<double>(page->total));
    if (!page->last)
        reply.insert(QStringLiteral("next"), static_cast<double>(page->lastImageId));
    return reply;
}

Result<std::shared_ptr<Storage::Storage>> ResultsService::storage(const QString &url, const QString &root)
{
    const QString key = url + QLatin1Char('\n') + root;
    if (auto it = m_storages.constFind(key); it != m_storages.constEnd())
        return *it;
    Storage::StorageUrl where;
    if (url.startsWith(QLatin1StringView("sftp://"), Qt::CaseInsensitive)) {
        auto parsed = Storage::StorageUrl::parse(url);
        if (!parsed)
            return parsed.error();
        where = *parsed;
    }
    where.path = root;
    auto credentials = Storage::Credentials::loadDefault();
    auto opened = Storage::openStorage(where, credentials ? *credentials : Storage::Credentials{});
    if (!opened)
        return opened.error();
    m_storages.insert(key, *opened);
    return *opened;
}

Result<QByteArray> ResultsService::readFile(qint64 imageId, const QString &part)
{
    Jobs::ResultsQuery query(m_store);
    auto files = query.imageFiles(imageId);
    if (!files)
        return files.error();
    if (part == QLatin1StringView("photo")) {
        auto s = storage(files->storageUrl, files->root);
        if (!s)
            return Error{s.error().category, QStringLiteral("photo %1: %2").arg(files->location, s.error().message)};
        auto bytes = (*s)->read(files->path, kMaxImageBytes);
        if (!bytes)
            return Error{bytes.error().category, QStringLiteral("photo %1: %2").arg(files->location, bytes.error().message)};
        return bytes;
    }
    if (!files->hasResult)
        return Error{ErrorCategory::Missing, QStringLiteral("%1 has no result in the current run").arg(files->location)};
    if (files->labelPath.isEmpty())
        return Error{ErrorCategory::Missing, QStringLiteral("no label map was recorded for %1").arg(files->location)};
    if (m_outputs.isEmpty())
        return Error{ErrorCategory::Missing,
                     QStringLiteral("the coordinator has no outputs folder, so the label map %1 cannot be found (the agent wrote it to its own --out)")
                         .arg(files->labelPath)};
    const bool remote = m_outputs.startsWith(QLatin1StringView("sftp://"), Qt::CaseInsensitive);
    QString root = m_outputs;
    if (remote) {
        auto parsed = Storage::StorageUrl::parse(m_outputs);
        if (!parsed)
            return parsed.error();
        root = parsed->path;
    }
    auto s = storage(remote ? m_outputs : QString(), root);
    if (!s)
        return Error{s.error().category, QStringLiteral("label map %1: %2").arg(files->labelPath, s.error().message)};
    auto bytes = (*s)->read(files->labelPath, kMaxImageBytes);
    if (!bytes)
        return Error{bytes.error().category, QStringLiteral("label map %1: %2").arg(files->labelPath, bytes.error().message)};
    return bytes;
}

QJsonObject ResultsService::image(const QJsonObject &m)
{
    const qint64 imageId = integer(m, "image");
    const QString part = m.value(QStringLiteral("part")).toString();
    if (part != QLatin1StringView("photo") && part != QLatin1StringView("label"))
        return usage(QStringLiteral("\"part\" must be \"photo\" or \"label\", not \"%1\"").arg(part));
    const qint64 offset = integer(m, "offset");
    // The first chunk reads the file; the next ones slice what was read.
    if (offset == 0 || m_cachedImage != imageId || m_cachedPart != part) {
        m_cachedImage = 0;
        m_cached.clear();
        auto bytes = readFile(imageId, part);
        if (!bytes)
            return errorReply(bytes.error());
        m_cachedImage = imageId;
        m_cachedPart = part;
        m_cached = std::move(*bytes);
    }
    if (offset > m_cached.size())
        return usage(QStringLiteral("offset %1 is past the end of the file (%2 bytes)").arg(offset).arg(m_cached.size()));
    const QByteArray chunk = m_cached.mid(offset, kImageChunkBytes);
    const bool eof = offset + chunk.size() >= m_cached.size();
    QJsonObject reply{{QStringLiteral("type"), QStringLiteral("image")},
                      {QStringLiteral("image"), static_cast<double>(imageId)},
                      {QStringLiteral("part"), part},
                      {QStringLiteral("offset"), static_cast<double>(offset)},
                      {QStringLiteral("size"), static_cast<double>(m_cached.size())},
                      {QStringLiteral("data"), QString::fromLatin1(chunk.toBase64())},
                      {QStringLiteral("eof"), eof}};
    if (eof) {
        m_cached.clear();
        m_cachedImage = 0;
    }
    return reply;
}

} // namespace SegScale::Cluster
