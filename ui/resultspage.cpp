#include "ui/resultspage.h"

#include "ui/compositionchart.h"
#include "ui/imageviewer.h"
#include "ui/resultsexport.h"
#include "ui/resultsmodel.h"
#include "ui/studyconnection.h"

#include <QAction>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QLabel>
#include <QLocale>
#include <QMessageBox>
#include <QProgressDialog>
#include <QPushButton>
#include <QSplitter>
#include <QTableView>
#include <QToolBar>
#include <QVBoxLayout>

#include <algorithm>
#include <limits>

namespace SegScale::Ui {

namespace {
constexpr qint64 kCompositionEveryMs = 5000;
} // namespace

ResultsPage::ResultsPage(StudyConnection *connection, ResultsModel *model, QTableView *view, QWidget *parent)
    : QWidget(parent), m_connection(connection), m_model(model), m_view(view), m_chart(new CompositionChart),
      m_export(new ResultsExport(connection, this)), m_class(new QComboBox), m_op(new QComboBox), m_percent(new QDoubleSpinBox),
      m_conditionsLabel(new QLabel), m_dataset(new QComboBox)
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);

    auto *toolbar = new QToolBar(this);
    toolbar->setToolButtonStyle(Qt::ToolButtonTextOnly);
    toolbar->addAction(tr("Reload"), this, [this] {
        m_model->reload();
        refreshComposition();
    });
    toolbar->addSeparator();
    toolbar->addAction(tr("Export wide CSV…"), this, [this] { chooseExport(QStringLiteral("wide")); })
        ->setToolTip(tr("image,width,height,<one column per class>: the same bytes as `segscale study export`"));
    toolbar->addAction(tr("Export long CSV…"), this, [this] { chooseExport(QStringLiteral("long")); })
        ->setToolTip(tr("image,class,fraction: the same bytes as `segscale study export --format long`"));
    m_auditColumns = toolbar->addAction(tr("With audit marks"));
    m_auditColumns->setCheckable(true);
    m_auditColumns->setToolTip(tr("Add the columns audit (accepted, flagged or empty) and audit_note, as `segscale study export --audit`"));
    layout->addWidget(toolbar);

    // The filter bar: conditions are added one at a time and combined with AND.
    auto *filter = new QHBoxLayout;
    filter->setContentsMargins(6, 0, 6, 0);
    filter->addWidget(new QLabel(tr("Filter:")));
    m_class->setToolTip(tr("Class"));
    m_class->setMinimumContentsLength(12);
    filter->addWidget(m_class);
    m_op->addItem(QStringLiteral(">"), true);
    m_op->addItem(QStringLiteral("<"), false);
    filter->addWidget(m_op);
    m_percent->setRange(0.0, 100.0);
    m_percent->setDecimals(1);
    m_percent->setSuffix(QStringLiteral(" %"));
    m_percent->setValue(30.0);
    filter->addWidget(m_percent);
    auto *add = new QPushButton(tr("Add"));
    add->setToolTip(tr("Keep only the images whose share of this class is above (or below) the percentage"));
    connect(add, &QPushButton::clicked, this,
            [this] { addCondition(m_class->currentText(), m_op->currentData().toBool(), m_percent->value()); });
    filter->addWidget(add);
    auto *clear = new QPushButton(tr("Clear"));
    connect(clear, &QPushButton::clicked, this, &ResultsPage::clearConditions);
    filter->addWidget(clear);
    m_conditionsLabel->setText(tr("no condition"));
    filter->addWidget(m_conditionsLabel, 1);
    filter->addWidget(new QLabel(tr("Dataset:")));
    m_dataset->addItem(tr("All datasets"));
    m_dataset->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    connect(m_dataset, &QComboBox::activated, this, [this] {
        const QVariant id = m_dataset->currentData();
        setDataset(id.isValid() ? std::optional<qint64>(id.toLongLong()) : std::nullopt);
    });
    filter->addWidget(m_dataset);
    layout->addLayout(filter);

    m_view->setModel(m_model);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->setAlternatingRowColors(true);
    m_view->verticalHeader()->hide();
    m_view->setTextElideMode(Qt::ElideLeft);  // the numbers fit; a long path keeps its file name
    m_view->setWordWrap(false);                // one line per image: a path must not wrap at its slashes
    m_view->setToolTip(tr("Double-click an image to open it with its labels"));
    QHeaderView *header = m_view->horizontalHeader();
    header->setStretchLastSection(false);
    header->setSectionResizeMode(QHeaderView::ResizeToContents);
    header->setSectionResizeMode(ResultsModel::Image, QHeaderView::Interactive);
    header->resizeSection(ResultsModel::Image, 320);
    header->setSortIndicatorShown(true);
    header->setSortIndicator(ResultsModel::Image, Qt::AscendingOrder);
    // A click on the image or a class header sorts in the coordinator (ResultsModel::sort);
    // a class starts with its largest shares, the image with the first one.
    header->setSectionsClickable(true);
    connect(header, &QHeaderView::sectionClicked, this, [this, header](int section) {
        const bool isClass = section >= ResultsModel::FirstClass;
        if (section != ResultsModel::Image && !isClass) {
            header->setSortIndicator(m_model->sortClass() < 0 ? int(ResultsModel::Image) : ResultsModel::FirstClass + m_model->sortClass(),
                                     m_model->sortOrder());
            return;
        }
        const int current = m_model->sortClass() < 0 ? int(ResultsModel::Image) : ResultsModel::FirstClass + m_model->sortClass();
        Qt::SortOrder order = isClass ? Qt::DescendingOrder : Qt::AscendingOrder;
        if (current == section)
            order = m_model->sortOrder() == Qt::AscendingOrder ? Qt::DescendingOrder : Qt::AscendingOrder;
        header->setSortIndicator(section, order);
        m_model->sort(section, order);
    });
    connect(m_view, &QTableView::doubleClicked, this, [this](const QModelIndex &index) { openViewer(index.row()); });

    auto *splitter = new QSplitter(Qt::Vertical);
    splitter->addWidget(m_view);
    splitter->addWidget(m_chart);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 1);
    layout->addWidget(splitter, 1);

    connect(m_connection, &StudyConnection::connected, this, &ResultsPage::refreshComposition);
    connect(m_connection, &StudyConnection::studyChanged, this, [this] {
        if (!m_lastComposition.isValid() || m_lastComposition.elapsed() >= kCompositionEveryMs)
            refreshComposition();
    });
    connect(m_model, &QAbstractItemModel::modelReset, this, [this] {
        // The classes arrive with the summary; the filter's class list follows them.
        if (m_model->classes() == m_classes && m_class->count() == m_classes.size())
            return;
        m_classes = m_model->classes();
        const QString current = m_class->currentText();
        m_class->clear();
        m_class->addItems(m_classes);
        const int sky = int(m_classes.indexOf(current.isEmpty() ? QStringLiteral("sky") : current));
        if (sky >= 0)
            m_class->setCurrentIndex(sky);
        // A viewer opened before the summary came learns the names now.
        if (m_viewer)
            m_viewer->setClasses(m_classes, m_palette);
    });

    connect(m_export, &ResultsExport::finished, this, &ResultsPage::exportFinished);
    connect(m_export, &ResultsExport::failed, this, &ResultsPage::exportFailed);
}

ResultsPage::~ResultsPage() = default;

void ResultsPage::addCondition(const QString &className, bool greater, double percent)
{
    if (className.isEmpty())
        return;
    m_conditions << QStringLiteral("%1 %2 %3%").arg(className, greater ? QStringLiteral(">") : QStringLiteral("<"),
                                                    QString::number(percent, 'f', 1));
    applyFilter();
}

void ResultsPage::clearConditions()
{
    if (m_conditions.isEmpty())
        return;
    m_conditions.clear();
    applyFilter();
}

void ResultsPage::setDataset(std::optional<qint64> datasetId)
{
    const int index = datasetId ? m_dataset->findData(*datasetId) : 0;
    if (index >= 0)
        m_dataset->setCurrentIndex(index);
    m_model->setFilter(m_conditions, datasetId);
}

void ResultsPage::applyFilter()
{
    m_conditionsLabel->setText(m_conditions.isEmpty() ? tr("no condition") : m_conditions.join(tr(" and ")));
    const QVariant id = m_dataset->currentData();
    m_model->setFilter(m_conditions, id.isValid() ? std::optional<qint64>(id.toLongLong()) : std::nullopt);
}

void ResultsPage::refreshComposition()
{
    if (m_compositionInFlight || !m_connection->isConnected())
        return;
    m_compositionInFlight = true;
    m_lastComposition.start();
    m_connection->query(QJsonObject{{QStringLiteral("type"), QStringLiteral("composition")}}, this,
                        [this](const QJsonObject &r, const QString &error) {
                            m_compositionInFlight = false;
                            if (!error.isEmpty()) {
                                m_chart->setToolTip(tr("Composition: %1").arg(error));
                                return;
                            }
                            onComposition(r);
                        });
}

void ResultsPage::onComposition(const QJsonObject &r)
{
    m_composition = r;
    QStringList classes;
    for (const auto &c : r.value(QStringLiteral("classes")).toArray())
        classes << c.toString();
    QList<QColor> palette;
    for (const auto &entry : r.value(QStringLiteral("palette")).toArray()) {
        const QJsonArray rgb = entry.toArray();
        palette << (rgb.size() == 3 ? QColor(rgb[0].toInt(), rgb[1].toInt(), rgb[2].toInt()) : QColor());
    }
    m_palette = palette;
    QList<CompositionChart::Dataset> datasets;
    const QVariant chosen = m_dataset->currentData();
    m_dataset->clear();
    m_dataset->addItem(tr("All datasets"));
    for (const auto &v : r.value(QStringLiteral("datasets")).toArray()) {
        const QJsonObject d = v.toObject();
        CompositionChart::Dataset set;
        const QString root = d.value(QStringLiteral("root")).toString();
        set.name = QFileInfo(root).fileName().isEmpty() ? root : QFileInfo(root).fileName();
        set.results = static_cast<qint64>(d.value(QStringLiteral("results")).toDouble());
        for (const auto &m : d.value(QStringLiteral("means")).toArray())
            set.means << (m.isDouble() ? m.toDouble() : std::numeric_limits<double>::quiet_NaN());
        datasets << set;
        m_dataset->addItem(tr("%1 (%2)").arg(set.name, QLocale().toString(set.results)),
                           static_cast<qint64>(d.value(QStringLiteral("dataset")).toDouble()));
        m_dataset->setItemData(m_dataset->count() - 1, root, Qt::ToolTipRole);
    }
    if (chosen.isValid())
        m_dataset->setCurrentIndex(std::max(0, m_dataset->findData(chosen)));
    m_chart->setData(classes, palette, datasets);
    if (m_viewer)
        m_viewer->setClasses(classes, palette);
    Q_EMIT compositionLoaded();
}

ImageViewer *ResultsPage::openViewer(int row)
{
    const QJsonObject result = m_model->result(row);
    if (result.isEmpty())
        return nullptr;
    if (!m_viewer) {
        m_viewer = new ImageViewer(m_connection, this);
        m_viewer->setWindowFlag(Qt::Window);
        m_viewer->setAttribute(Qt::WA_DeleteOnClose);
        connect(m_viewer, &ImageViewer::neighbourRequested, this, &ResultsPage::step);
    }
    m_viewer->setClasses(m_classes.isEmpty() ? m_model->classes() : m_classes, m_palette);
    m_viewerRow = row;
    m_view->selectRow(row);
    m_viewer->showResult(result);
    m_viewer->show();
    m_viewer->raise();
    return m_viewer;
}

void ResultsPage::step(int delta)
{
    const int row = m_viewerRow + delta;
    if (row < 0)
        return;
    if (row >= m_model->rowCount()) {
        // The next page arrives with fetchMore; PageDown again shows it.
        if (m_model->canFetchMore({}))
            m_model->fetchMore({});
        return;
    }
    openViewer(row);
}

void ResultsPage::chooseExport(const QString &format)
{
    const QString path = QFileDialog::getSaveFileName(this, format == QLatin1StringView("wide") ? tr("Export wide CSV") : tr("Export long CSV"),
                                                      QDir::home().filePath(format == QLatin1StringView("wide") ? QStringLiteral("composition.csv")
                                                                                                              : QStringLiteral("composition-long.csv")),
                                                      tr("CSV files (*.csv)"));
    if (!path.isEmpty())
        exportCsv(format, path, m_auditColumns->isChecked());
}

void ResultsPage::exportCsv(const QString &format, const QString &path, bool audit)
{
    auto *progress = new QProgressDialog(tr("Exporting %1…").arg(QFileInfo(path).fileName()), tr("Cancel"), 0, 0, this);
    progress->setWindowModality(Qt::WindowModal);
    progress->setMinimumDuration(300);
    progress->setAttribute(Qt::WA_DeleteOnClose);
    connect(m_export, &ResultsExport::progressed, progress, [progress](qint64 done, qint64 total) {
        // Scaled to int: a million images would overflow nothing, but keep it safe.
        progress->setMaximum(total > 0 ? 1000 : 0);
        progress->setValue(total > 0 ? int(std::min<qint64>(1000, done * 1000 / total)) : 0);
        progress->setLabelText(tr("Exported %1 of %2 images…").arg(QLocale().toString(done), QLocale().toString(total)));
    });
    connect(progress, &QProgressDialog::canceled, m_export, &ResultsExport::cancel);
    connect(m_export, &ResultsExport::finished, progress, &QProgressDialog::close);
    connect(m_export, &ResultsExport::cancelled, progress, &QProgressDialog::close);
    connect(m_export, &ResultsExport::failed, progress, [this, progress](const QString &message) {
        progress->close();
        auto *box = new QMessageBox(QMessageBox::Warning, tr("Export"), message, QMessageBox::Ok, this);
        box->setAttribute(Qt::WA_DeleteOnClose);
        box->open();
    });
    m_export->start(format, path, audit);
}

} // namespace SegScale::Ui
