#pragma once
// InputCollector: turns the INPUT... of `segscale segment` (files and folders, searched
// recursively) into the list of images to segment, each with the name users know it by
// and a unique output stem. Broken symlinks and unreadable entries are kept: they must
// show up in errors.csv, not vanish. Inputs may also be file:///path URLs and
// sftp://user@host:port/path (a file or a folder on a storage server, listed through
// the StorageFetcher that will later read the images, so both share its connections).

#include "base/result.h"

#include <QString>
#include <QStringList>

#include <vector>

namespace SegScale::Pipeline {

class StorageFetcher;

struct InputImage {
    QString path;  // absolute local path, or the sftp:// location StorageFetcher::fetch takes
    QString name;  // as the user gave it (file) or folder + relative path
    QString stem;  // output name without extension, unique in this run
};

class InputCollector {
public:
    static QStringList defaultPatterns();
    // Fails only when an INPUT itself is missing or refused (a usage error: ".." in a
    // remote path, sftp:// without a fetcher) or its server cannot be reached (the
    // Storage error); problems with single files inside folders surface later as
    // per-image failures.
    static Result<std::vector<InputImage>> collect(const QStringList &inputs, const QStringList &patterns = defaultPatterns(),
                                                   StorageFetcher *remote = nullptr);
};

} // namespace SegScale::Pipeline
