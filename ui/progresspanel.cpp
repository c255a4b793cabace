#include "ui/progresspanel.h"

#include "ui/datasetprogressmodel.h"
#include "ui/progressbardelegate.h"
#include "ui/throughputchart.h"

#include <QFormLayout>
#include <QHeaderView>
#include <QSpinBox>
#include <QSplitter>
#include <QTableView>
#include <QGroupBox>
#include <QJsonArray>
#include <QLabel>
#include <QLocale>
#include <QProgressBar>
#include <QVBoxLayout>

namespace SegScale::Ui {
namespace {

QString duration(qint64 seconds)
{
    if (seconds < 60)
        return ProgressPanel::tr("%1 s").arg(seconds);
    if (seconds < 3600)
        return ProgressPanel::tr("%1 min %2 s").arg(seconds / 60).arg(seconds % 60);
    if (seconds < 86400)
        return ProgressPanel::tr("%1 h %2 min").arg(seconds / 3600).arg((seconds % 3600) / 60);
    return ProgressPanel::tr("%1 d %2 h").arg(seconds / 86400).arg((seconds % 86400) / 3600);
}

QLabel *value(QWidget *parent, const char *objectName)
{
    auto *l = new QLabel(parent);
    l->setObjectName(QLatin1StringView(objectName));
    l->setTextInteractionFlags(Qt::TextSelectableByMouse);
    return l;
}

} // namespace

ProgressPanel::ProgressPanel(QWidget *parent)
    : QWidget(parent), m_datasets(new DatasetProgressModel(this)), m_datasetsView(new QTableView), m_chart(new ThroughputChart),
      m_splitter(new QSplitter(Qt::Vertical))
{
    auto *layout = new QVBoxLayout(this);
    m_title = value(this, "title");
    QFont big = m_title->font();
    big.setPointSizeF(big.pointSizeF() * 1.3);
    big.setBold(true);
    m_title->setFont(big);
    layout->addWidget(m_title);

    m_bar = new QProgressBar(this);
    m_bar->setObjectName(QStringLiteral("overall"));
    m_bar->setFormat(tr("%p% finished"));
    m_bar->setMinimumHeight(28);
    layout->addWidget(m_bar);

    auto *row = new QHBoxLayout;
    auto *counts = new QGroupBox(tr("Images"), this);
    auto *countsForm = new QFormLayout(counts);
    m_total = value(counts, "total");
    m_pending = value(counts, "pending");
    m_leased = value(counts, "leased");
    m_done = value(counts, "done");
    m_failed = value(counts, "failed");
    countsForm->addRow(tr("Total:"), m_total);
    countsForm->addRow(tr("Pending:"), m_pending);
    countsForm->addRow(tr("Being segmented:"), m_leased);
    countsForm->addRow(tr("Done:"), m_done);
    countsForm->addRow(tr("Failed:"), m_failed);
    row->addWidget(counts);

    auto *speed = new QGroupBox(tr("Speed"), this);
    auto *speedForm = new QFormLayout(speed);
    m_rate = value(speed, "rate");
    m_eta = value(speed, "eta");
    m_agents = value(speed, "agents");
    speedForm->addRow(tr("Images/min:"), m_rate);
    speedForm->addRow(tr("Time left:"), m_eta);
    speedForm->addRow(tr("Agents connected:"), m_agents);
    m_moreAgents = new QSpinBox(speed);
    m_moreAgents->setObjectName(QStringLiteral("moreAgents"));
    m_moreAgents->setRange(0, 10000);
    m_moreAgents->setValue(4);
    m_moreAgents->setPrefix(tr("+"));
    m_moreAgents->setSuffix(tr(" agents"));
    m_whatIf = value(speed, "whatIf");
    m_whatIf->setWordWrap(true);
    m_whatIf->setToolTip(tr("The measured rate per connected agent times the agents there would be. It assumes the new agents are "
                            "like the current ones (same hardware, same storage) and that the storage keeps up; the "
                            "coordinator itself is far from its limit at these rates. Nothing more is modelled."));
    connect(m_moreAgents, &QSpinBox::valueChanged, this, &ProgressPanel::updateWhatIf);
    speedForm->addRow(tr("What if:"), m_moreAgents);
    speedForm->addRow(m_whatIf);
    row->addWidget(speed, 1);

    auto *errors = new QGroupBox(tr("Most frequent errors"), this);
    auto *errorsLayout = new QVBoxLayout(errors);
    m_errors = value(errors, "errors");
    m_errors->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    m_errors->setWordWrap(true);
    errorsLayout->addWidget(m_errors);
    row->addWidget(errors, 1);

    layout->addLayout(row);

    m_datasetsView->setObjectName(QStringLiteral("datasetsView"));
    m_datasetsView->setModel(m_datasets);
    m_datasetsView->setItemDelegateForColumn(DatasetProgressModel::Progress, new ProgressBarDelegate(DatasetProgressModel::FractionRole, m_datasetsView));
    m_datasetsView->verticalHeader()->hide();
    m_datasetsView->setAlternatingRowColors(true);
    m_datasetsView->setSelectionMode(QAbstractItemView::NoSelection);
    m_datasetsView->setTextElideMode(Qt::ElideLeft);
    QHeaderView *header = m_datasetsView->horizontalHeader();
    header->setSectionResizeMode(QHeaderView::Interactive);  // the counts: fitted on each update
    header->setSectionResizeMode(DatasetProgressModel::Dataset, QHeaderView::Stretch);
    header->setSectionResizeMode(DatasetProgressModel::Progress, QHeaderView::Interactive);
    header->resizeSection(DatasetProgressModel::Progress, 180);
    m_splitter->setObjectName(QStringLiteral("progressSplitter"));
    m_splitter->addWidget(m_datasetsView);
    m_splitter->addWidget(m_chart);
    m_splitter->setStretchFactor(0, 1);
    m_splitter->setStretchFactor(1, 2);
    layout->addWidget(m_splitter, 1);
    clear();
}

void ProgressPanel::clear()
{
    m_title->setText(tr("No study open"));
    m_bar->setRange(0, 1);
    m_bar->setValue(0);
    for (QLabel *l : {m_total, m_pending, m_leased, m_done, m_failed, m_rate, m_eta, m_agents})
        l->setText(QStringLiteral("–"));
    m_errors->setText(tr("none"));
    m_summary = {};
    m_datasets->clear();
    m_chart->clear();
    updateWhatIf();
}

void ProgressPanel::setDatasets(const QJsonArray &datasets)
{
    m_datasets->update(datasets);
    // Counts grow digits as a study fills: fit them (a handful of rows, cheap).
    for (int c = DatasetProgressModel::Total; c < DatasetProgressModel::ColumnCount; ++c)
        m_datasetsView->resizeColumnToContents(c);
}

void ProgressPanel::setThroughput(const QJsonObject &throughput)
{
    m_chart->setThroughput(throughput);
}

void ProgressPanel::updateWhatIf()
{
    const QLocale locale;
    const double perMinute = m_summary.value(QStringLiteral("images_per_minute")).toDouble();
    const int agents = m_summary.value(QStringLiteral("agents")).toInt();
    const qint64 left = static_cast<qint64>(m_summary.value(QStringLiteral("pending")).toDouble() + m_summary.value(QStringLiteral("leased")).toDouble());
    const int more = m_moreAgents->value();
    if (m_summary.isEmpty()) {
        m_whatIf->setText(QStringLiteral("–"));
    } else if (left == 0) {
        m_whatIf->setText(tr("nothing left to segment"));
    } else if (agents <= 0 || perMinute <= 0) {
        m_whatIf->setText(tr("needs a measured rate: start agents and let them finish some images"));
    } else {
        // Scaled from the rate per current agent: (agents + N) / agents. Nothing else.
        const double rate = perMinute / agents * (agents + more);
        const auto seconds = static_cast<qint64>(double(left) * 60.0 / rate);
        m_whatIf->setText(tr("%1 agents like the current ones: about %2 images/min, %3 left")
                              .arg(agents + more)
                              .arg(locale.toString(rate, 'f', 1), duration(seconds)));
    }
}

QString ProgressPanel::whatIfText() const
{
    return m_whatIf->text();
}

void ProgressPanel::setSummary(const QJsonObject &s)
{
    m_summary = s;
    const QLocale locale;
    auto count = [&](const char *key) { return static_cast<qint64>(s.value(QLatin1StringView(key)).toDouble()); };
    const qint64 total = count("total");
    const qint64 finished = count("done") + count("failed");
    const QString model = s.value(QStringLiteral("model")).toString();
    const QString run = s.value(QStringLiteral("run")).toVariant().toString();  // a number today
    m_title->setText(model.isEmpty() ? tr("Study") : run.isEmpty() ? tr("Study · %1").arg(model) : tr("Study · %1 · run %2").arg(model, run));
    // QProgressBar counts in int: scale very large studies down to per-mille steps.
    if (total > 1000000) {
        m_bar->setRange(0, 1000);
        m_bar->setValue(static_cast<int>(finished * 1000 / total));
    } else {
        m_bar->setRange(0, total > 0 ? static_cast<int>(total) : 1);
        m_bar->setValue(static_cast<int>(total > 0 ? finished : 0));
    }
    m_total->setText(locale.toString(total));
    m_pending->setText(locale.toString(count("pending")));
    m_leased->setText(locale.toString(count("leased")));
    m_done->setText(locale.toString(count("done")));
    m_failed->setText(locale.toString(count("failed")));
    const double perMinute = s.value(QStringLiteral("images_per_minute")).toDouble();
    m_rate->setText(perMinute > 0 ? locale.toString(perMinute, 'f', 1) : tr("not measured yet"));
    const qint64 eta = count("eta_seconds");
    if (total > 0 && finished >= total)
        m_eta->setText(tr("finished"));
    else if (eta > 0)
        m_eta->setText(duration(eta));
    else
        m_eta->setText(tr("unknown until images finish"));
    m_agents->setText(locale.toString(s.value(QStringLiteral("agents")).toInt()));
    QStringList lines;
    for (const QJsonValue &v : s.value(QStringLiteral("top_errors")).toArray()) {
        const QJsonObject e = v.toObject();
        const qint64 images = static_cast<qint64>(e.value(QStringLiteral("images")).toDouble());
        const QString category = e.value(QStringLiteral("category")).toString();
        lines << (images == 1 ? tr("%1: 1 image").arg(category) : tr("%1: %2 images").arg(category, locale.toString(images)));
    }
    m_errors->setText(lines.isEmpty() ? tr("none") : lines.join(QLatin1Char('\n')));
    updateWhatIf();
}

int ProgressPanel::percent() const
{
    const int span = m_bar->maximum() - m_bar->minimum();
    return span > 0 ? (m_bar->value() - m_bar->minimum()) * 100 / span : 0;
}

QString ProgressPanel::etaText() const
{
    return m_eta->text();
}

QString ProgressPanel::errorsText() const
{
    return m_errors->text();
}

} // namespace SegScale::Ui
