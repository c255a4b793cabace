#pragma once
// ResultsService: the coordinator's answers to the admin messages of the Results view —
// "results" (a keyset page sorted by the image or a class share, filtered by dataset and
// class-share conditions), "composition" (mean class shares per dataset), "export" (a
// page of the composition CSV, formatted by StudyExporter, so the pages put together are
// the bytes of `segscale study export`) and "image" (an image's photo or label map, a
// chunk at a time under the protocol's frame limit, read through the same Storage code
// agents use). Every request is checked here against the study (class names,
// thresholds, formats) and a bad one gets an error reply that says what was wrong.
// Lives on the coordinator's thread and uses its JobStore; each call does one bounded
// piece of work (a page, a chunk): on a million results a page takes under 0.15 s, except
// the first sort by a class, which builds that class's index once (about 3.5 s on a
// loaded 2-core machine). An image file is read whole at its first chunk (at most
// kMaxImageBytes) and sliced from memory for the next ones.

#include "jobs/jobstore.h"

#include <QByteArray>
#include <QHash>
#include <QJsonObject>
#include <QString>

#include <memory>

namespace SegScale::Storage {
class Storage;
}

namespace SegScale::Cluster {

class ResultsService {
public:
    static constexpr qint64 kImageChunkBytes = 1024 * 1024;        // raw; ~1.4 MB as base64
    static constexpr qint64 kMaxImageBytes = 256LL * 1024 * 1024;  // a photo or label map
    static constexpr qint64 kExportPageBytes = 1024 * 1024;        // CSV text per "export" reply

    // outputs: where agents write label maps (a folder or sftp:// URL); may be empty.
    ResultsService(Jobs::JobStore &store, QString outputs);
    ~ResultsService();

    static bool handles(const QString &type);
    // The reply to a message of one of those types (without its "id").
    QJsonObject handle(const QJsonObject &m);

private:
    QJsonObject results(const QJsonObject &m);
    QJsonObject composition();
    QJsonObject exportPage(const QJsonObject &m);
    QJsonObject image(const QJsonObject &m);
    Result<QByteArray> readFile(qint64 imageId, const QString &part);
    Result<std::shared_ptr<Storage::Storage>> storage(const QString &url, const QString &root);

    Jobs::JobStore &m_store;
    QString m_outputs;
    // The file being sent in chunks: read once, then sliced.
    qint64 m_cachedImage = 0;
    QString m_cachedPart;
    QByteArray m_cached;
    QHash<QString, std::shared_ptr<Storage::Storage>> m_storages;
};

} // namespace SegScale::Cluster
