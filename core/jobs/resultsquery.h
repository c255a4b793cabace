#pragma once
// ResultsQuery: the results of the current run as the Results view asks for them —
// sorted by the image or by one class share (ascending or descending), filtered by
// dataset and by class-share conditions ("sky > 0.3"), a keyset page at a time — plus
// the mean share of each class per dataset and where an image's photo and label map are.
// All of it is SQL over result_shares (ResultShares), so a page of a million-result
// study costs an index range scan, never a scan of the BLOBs. A sorted page's key is the
// last image of the page before: its share is looked up again, so a client only ever
// carries an image id. Uses the JobStore's connection: call it on the store's thread.

#include "base/result.h"
#include "jobs/jobtypes.h"

#include <QList>
#include <QString>
#include <QStringList>

#include <optional>
#include <vector>

namespace SegScale::Jobs {

class JobStore;

class ResultsQuery {
public:
    struct Condition {
        int cls = 0;
        bool greater = true;    // share > fraction; otherwise share < fraction
        double fraction = 0.0;  // 0..1
    };
    struct Options {
        int sortClass = -1;  // -1: by image
        bool descending = false;
        std::optional<qint64> datasetId;
        QList<Condition> conditions;
    };
    struct Row {
        ResultRecord record;
        qint64 datasetId = 0;
        QString datasetRoot;
    };
    struct DatasetMeans {
        qint64 datasetId = 0;
        QString root;
        qint64 results = 0;
        std::vector<double> means;  // one per class (NaN where no result knows it)
    };
    // Where one image is: its storage ("" or file:// for local), its full location on
    // it, and its label map relative to the study's outputs ("" when none was recorded).
    struct ImageFiles {
        qint64 imageId = 0;
        QString storageUrl;
        QString root;      // the dataset's root on that storage
        QString path;      // relative to root
        QString location;
        QString labelPath;
        bool hasResult = false;
    };

    explicit ResultsQuery(JobStore &store) : m_store(store) {}

    // The index of a class by name (case-insensitive), or a Usage error naming the classes.
    static Result<int> classIndex(const QString &name, const QStringList &classes);
    // "sky>0.3", "sky > 30%", "road<0.05": a class, > or <, a fraction (or a percentage
    // with %). Anything else is a Usage error that says what was wrong.
    static Result<Condition> parseCondition(const QString &text, const QStringList &classes);

    // The study's class names (model card order); an error when it has no settings.
    Result<QStringList> classes();
    // Results with the options, after the image afterImageId of the previous page (0:
    // from the start), at most limit rows.
    Result<QList<Row>> page(const Options &options, qint64 afterImageId, int limit);
    // Mean share per class and dataset over the current run, datasets by id.
    Result<QList<DatasetMeans>> datasetMeans();
    Result<ImageFiles> imageFiles(qint64 imageId);

private:
    Result<int> shareColumns();
    JobStore &m_store;
};

} // namespace SegScale::Jobs
