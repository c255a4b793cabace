#pragma once
// InputCollector: turns the INPUT... of `segscale segment` (files and folders, searched
// recursively) into the list of images to segment, each with the name users know it by
// and a unique output stem. Broken symlinks and unreadable entries are kept: they must
// show up in errors.csv, not vanish.

#include "base/result.h"

#include <QString>
#include <QStringList>

#include <vector>

namespace SegScale::Pipeline {

struct InputImage {
    QString path;  // absolute
    QString name;  // as the user gave it (file) or folder + relative path
    QString stem;  // output name without extension, unique in this run
};

class InputCollector {
public:
    static QStringList defaultPatterns();
    // Fails only when an INPUT itself is missing (a usage error); problems with single
    // files inside folders surface later as per-image failures.
    static Result<std::vector<InputImage>> collect(const QStringList &inputs, const QStringList &patterns = defaultPatterns());
};

} // namespace SegScale::Pipeline
