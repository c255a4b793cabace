#pragma once
// CompositionChart: the mean class composition of each dataset as one horizontal
// stacked bar per dataset, each class a segment in its palette colour. The only place
// that includes Qt Charts (deprecated from Qt 6.10): replacing the library means
// rewriting this one file behind the same small interface.

#include <QColor>
#include <QList>
#include <QString>
#include <QStringList>
#include <QWidget>

namespace SegScale::Ui {

class CompositionChart final : public QWidget {
    Q_OBJECT
public:
    struct Dataset {
        QString name;
        qint64 results = 0;
        QList<double> means;  // fractions, one per class; NaN when unknown
    };

    explicit CompositionChart(QWidget *parent = nullptr);
    ~CompositionChart() override;

    // Replaces what is shown. Classes whose mean is below 0.5% in every dataset are
    // drawn but left out of the legend, so 150 ADE20K classes stay readable.
    void setData(const QStringList &classes, const QList<QColor> &palette, const QList<Dataset> &datasets);
    int datasetCount() const { return static_cast<int>(m_datasets.size()); }

private:
    QWidget *m_view;
    QList<Dataset> m_datasets;
};

} // namespace SegScale::Ui
