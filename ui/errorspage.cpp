#include "ui/errorspage.h"

#include "ui/errorsexport.h"
#include "ui/errorsmodel.h"
#include "ui/studyconnection.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDateTimeEdit>
#include <QDir>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QJsonArray>
#include <QLabel>
#include <QLocale>
#include <QSettings>
#include <QSplitter>
#include <QTableView>
#include <QToolBar>
#include <QVBoxLayout>

namespace SegScale::Ui {

namespace {

QLabel *selectableLabel()
{
    auto *l = new QLabel;
    l->setTextInteractionFlags(Qt::TextSelectableByMouse);
    l->setWordWrap(true);
    return l;
}

} // namespace

ErrorsPage::ErrorsPage(StudyConnection *connection, QWidget *parent)
    : QWidget(parent), m_connection(connection), m_model(new ErrorsModel(connection, this)), m_export(new ErrorsExport(connection, this)),
      m_view(new QTableView), m_category(new QComboBox), m_worker(new QComboBox), m_dataset(new QComboBox),
      m_useSince(new QCheckBox(tr("Since"))), m_useUntil(new QCheckBox(tr("until"))), m_since(new QDateTimeEdit),
      m_until(new QDateTimeEdit), m_location(selectableLabel()), m_details(selectableLabel()), m_message(selectableLabel())
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);

    // Filters: each change asks the coordinator for the first page of the new selection.
    auto *filters = new QToolBar(this);
    filters->addWidget(new QLabel(tr("Category: ")));
    m_category->addItem(tr("all"), QString());
    for (const QString &c : ErrorsModel::categories())
        m_category->addItem(c, c);
    filters->addWidget(m_category);
    filters->addWidget(new QLabel(tr("  Worker: ")));
    m_worker->addItem(tr("all"), QString());
    m_worker->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    filters->addWidget(m_worker);
    filters->addWidget(new QLabel(tr("  Dataset: ")));
    m_dataset->addItem(tr("all"), qint64(0));
    m_dataset->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    filters->addWidget(m_dataset);
    filters->addSeparator();
    const QDateTime now = QDateTime::currentDateTime();
    for (QDateTimeEdit *edit : {m_since, m_until}) {
        edit->setCalendarPopup(true);
        edit->setDisplayFormat(QLocale().dateTimeFormat(QLocale::ShortFormat));
        edit->setEnabled(false);
    }
    m_since->setDateTime(now.addDays(-1));
    m_until->setDateTime(now);
    m_useSince->setToolTip(tr("Only images whose last error came at or after this time"));
    m_useUntil->setToolTip(tr("Only images whose last error came before this time"));
    filters->addWidget(m_useSince);
    filters->addWidget(m_since);
    filters->addWidget(m_useUntil);
    filters->addWidget(m_until);
    filters->addAction(tr("Clear filters"), this, [this] { setFilter({}, {}, 0, {}, {}); });
    layout->addWidget(filters);

    auto *actions = new QToolBar(this);
    actions->setToolButtonStyle(Qt::ToolButtonTextOnly);
    m_retrySelected = actions->addAction(tr("Retry selected"), this, &ErrorsPage::retrySelected);
    m_retrySelected->setToolTip(tr("The selected images go back to pending (Ctrl+R)"));
    m_retrySelected->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    m_retrySelected->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    m_retryCategory = actions->addAction(tr("Retry this category"), this, &ErrorsPage::retryCategory);
    m_retryCategory->setToolTip(tr("The failed images of the chosen category go back to pending"));
    m_retryAll = actions->addAction(tr("Retry all failed"), this, &ErrorsPage::retryAll);
    m_retryAll->setToolTip(tr("Every failed image goes back to pending"));
    actions->addSeparator();
    m_exportAction = actions->addAction(tr("Export CSV…"), this, [this] {
        QSettings settings;
        const QString f = QFileDialog::getSaveFileName(this, tr("Export errors"),
                                                       QDir(settings.value(QStringLiteral("lastExportDir")).toString()).filePath(QStringLiteral("errors.csv")),
                                                       tr("CSV files (*.csv);;All files (*)"));
        if (f.isEmpty())
            return;
        settings.setValue(QStringLiteral("lastExportDir"), QFileInfo(f).absolutePath());
        exportTo(f);
    });
    m_exportAction->setToolTip(tr("The failed images of the current filter as image,category,message "
                                  "(with no filter, the same file as segscale study export --errors)"));
    actions->addAction(tr("Reload"), this, &ErrorsPage::reload);
    layout->addWidget(actions);

    m_view->setModel(m_model);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_view->setAlternatingRowColors(true);
    m_view->setWordWrap(false);
    m_view->setTextElideMode(Qt::ElideMiddle);  // a path's file name is its most telling part
    m_view->verticalHeader()->hide();
    m_view->verticalHeader()->setDefaultSectionSize(m_view->fontMetrics().height() + 8);
    QHeaderView *header = m_view->horizontalHeader();
    header->setSectionResizeMode(QHeaderView::Interactive);
    header->setStretchLastSection(false);
    // The message (what went wrong) takes what is left; the short columns fit their contents.
    header->resizeSection(ErrorsModel::Image, 280);
    header->setSectionResizeMode(ErrorsModel::Category, QHeaderView::ResizeToContents);
    header->setSectionResizeMode(ErrorsModel::Worker, QHeaderView::ResizeToContents);
    header->setSectionResizeMode(ErrorsModel::When, QHeaderView::ResizeToContents);
    header->setSectionResizeMode(ErrorsModel::Message, QHeaderView::Stretch);

    auto *detailsBox = new QGroupBox(tr("Details"));
    auto *form = new QFormLayout(detailsBox);
    form->addRow(tr("Image:"), m_location);
    form->addRow(tr("Error:"), m_details);
    form->addRow(tr("Message:"), m_message);
    m_message->setTextFormat(Qt::PlainText);
    m_location->setTextFormat(Qt::PlainText);
    auto *splitter = new QSplitter(Qt::Vertical);
    splitter->addWidget(m_view);
    splitter->addWidget(detailsBox);
    splitter->setStretchFactor(0, 4);
    splitter->setStretchFactor(1, 1);
    layout->addWidget(splitter);

    connect(m_category, &QComboBox::currentIndexChanged, this, &ErrorsPage::applyFilter);
    connect(m_worker, &QComboBox::currentIndexChanged, this, &ErrorsPage::applyFilter);
    connect(m_dataset, &QComboBox::currentIndexChanged, this, &ErrorsPage::applyFilter);
    for (QCheckBox *box : {m_useSince, m_useUntil})
        connect(box, &QCheckBox::toggled, this, [this] {
            m_since->setEnabled(m_useSince->isChecked());
            m_until->setEnabled(m_useUntil->isChecked());
            applyFilter();
        });
    // Applied when the user is done with the field, not at every digit typed.
    for (QDateTimeEdit *edit : {m_since, m_until})
        connect(edit, &QDateTimeEdit::editingFinished, this, &ErrorsPage::applyFilter);
    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] {
        updateDetails();
        updateActions();
    });
    connect(m_model, &QAbstractItemModel::modelReset, this, [this] {
        updateDetails();
        updateActions();
    });
    connect(m_connection, &StudyConnection::connected, this, &ErrorsPage::updateActions);
    connect(m_connection, &StudyConnection::disconnected, this, &ErrorsPage::updateActions);
    connect(m_export, &ErrorsExport::finished, this, [this](qint64 rows, const QString &path) {
        m_exportAction->setEnabled(m_connection->isConnected());
        Q_EMIT statusMessage(tr("%n failed image(s) written to %1", nullptr, static_cast<int>(rows)).arg(QDir::toNativeSeparators(path)));
        Q_EMIT exported(rows, path);
    });
    connect(m_export, &ErrorsExport::failed, this, [this](const QString &message) {
        m_exportAction->setEnabled(m_connection->isConnected());
        Q_EMIT failed(message);
    });
    updateDetails();
    updateActions();
}

QJsonObject ErrorsPage::filter() const
{
    QJsonObject f;
    if (const QString c = m_category->currentData().toString(); !c.isEmpty())
        f.insert(QStringLiteral("category"), c);
    if (const QString w = m_worker->currentData().toString(); !w.isEmpty())
        f.insert(QStringLiteral("worker"), w);
    if (const qint64 d = m_dataset->currentData().toLongLong(); d > 0)
        f.insert(QStringLiteral("dataset"), static_cast<double>(d));
    if (m_useSince->isChecked())
        f.insert(QStringLiteral("since"), static_cast<double>(m_since->dateTime().toMSecsSinceEpoch()));
    if (m_useUntil->isChecked())
        f.insert(QStringLiteral("until"), static_cast<double>(m_until->dateTime().toMSecsSinceEpoch()));
    return f;
}

void ErrorsPage::setFilter(const QString &category, const QString &worker, qint64 datasetId, const QDateTime &since, const QDateTime &until)
{
    m_settingFilter = true;
    m_category->setCurrentIndex(std::max(0, m_category->findData(category)));
    // A worker or dataset the choices do not list yet (facets still on their way) is added.
    if (!worker.isEmpty() && m_worker->findData(worker) < 0)
        m_worker->addItem(worker, worker);
    m_worker->setCurrentIndex(std::max(0, m_worker->findData(worker)));
    if (datasetId > 0 && m_dataset->findData(datasetId) < 0)
        m_dataset->addItem(tr("dataset %1").arg(datasetId), datasetId);
    m_dataset->setCurrentIndex(std::max(0, m_dataset->findData(datasetId)));
    m_useSince->setChecked(since.isValid());
    m_useUntil->setChecked(until.isValid());
    if (since.isValid())
        m_since->setDateTime(since);
    if (until.isValid())
        m_until->setDateTime(until);
    m_settingFilter = false;
    m_model->setFilter(filter());
    updateActions();
}

void ErrorsPage::applyFilter()
{
    if (m_settingFilter)
        return;
    const QJsonObject f = filter();
    if (f != m_model->filter() || m_model->rowCount() == 0)
        m_model->setFilter(f);
    updateActions();
}

void ErrorsPage::reload()
{
    loadFacets();
    m_model->setFilter(filter());
}

void ErrorsPage::refreshTop()
{
    m_model->refreshTop();
}

void ErrorsPage::clear()
{
    m_export->cancel();
    m_model->clear();
    updateDetails();
    updateActions();
}

void ErrorsPage::loadFacets()
{
    if (!m_connection->isConnected())
        return;
    m_connection->ask(tr("Error filters"), QJsonObject{{QStringLiteral("type"), QStringLiteral("error-facets")}}, this,
                      [this](const QJsonObject &r) {
                          m_settingFilter = true;
                          const QString worker = m_worker->currentData().toString();
                          const qint64 dataset = m_dataset->currentData().toLongLong();
                          while (m_worker->count() > 1)
                              m_worker->removeItem(1);
                          for (const auto &w : r.value(QStringLiteral("workers")).toArray())
                              m_worker->addItem(w.toString(), w.toString());
                          while (m_dataset->count() > 1)
                              m_dataset->removeItem(1);
                          for (const auto &v : r.value(QStringLiteral("datasets")).toArray()) {
                              const QJsonObject d = v.toObject();
                              const auto id = static_cast<qint64>(d.value(QStringLiteral("id")).toDouble());
                              m_dataset->addItem(d.value(QStringLiteral("root")).toString(), id);
                              m_dataset->setItemData(m_dataset->count() - 1,
                                                     tr("%1 on %2").arg(d.value(QStringLiteral("root")).toString(),
                                                                        d.value(QStringLiteral("storage")).toString()),
                                                     Qt::ToolTipRole);
                          }
                          // The choices made stay chosen; one that is gone falls back to "all".
                          m_worker->setCurrentIndex(std::max(0, m_worker->findData(worker)));
                          m_dataset->setCurrentIndex(std::max(0, m_dataset->findData(dataset)));
                          m_settingFilter = false;
                          if (filter() != m_model->filter())
                              m_model->setFilter(filter());
                      });
}

void ErrorsPage::retrySelected()
{
    QList<qint64> ids;
    for (const QModelIndex &row : m_view->selectionModel()->selectedRows())
        ids.append(row.data(Qt::UserRole).toLongLong());
    if (ids.isEmpty())
        return;
    m_connection->retryImages(ids, this, [this](qint64 count) { retried(count, QString()); });
}

void ErrorsPage::retryCategory()
{
    const QString category = m_category->currentData().toString();
    if (category.isEmpty())
        return;
    m_connection->retry(category, this, [this, category](qint64 count) { retried(count, category); });
}

void ErrorsPage::retryAll()
{
    m_connection->retry({}, this, [this](qint64 count) { retried(count, QString()); });
}

void ErrorsPage::retried(qint64 count, const QString &category)
{
    Q_EMIT statusMessage(category.isEmpty() ? tr("%n failed image(s) back to pending", nullptr, static_cast<int>(count))
                                            : tr("%n %1 failure(s) back to pending", nullptr, static_cast<int>(count)).arg(category));
    loadFacets();
    m_model->reload();
}

void ErrorsPage::exportTo(const QString &path)
{
    if (m_export->start(path, filter())) {
        m_exportAction->setEnabled(false);
        Q_EMIT statusMessage(tr("Exporting errors to %1…").arg(QDir::toNativeSeparators(path)));
    }
}

void ErrorsPage::updateActions()
{
    const bool online = m_connection->isConnected();
    m_retrySelected->setEnabled(online && m_view->selectionModel()->hasSelection());
    m_retryCategory->setEnabled(online && !m_category->currentData().toString().isEmpty());
    m_retryAll->setEnabled(online);
    m_exportAction->setEnabled(online && !m_export->isRunning());
}

void ErrorsPage::updateDetails()
{
    const QModelIndexList rows = m_view->selectionModel()->selectedRows();
    if (rows.size() != 1) {
        m_location->setText(rows.isEmpty() ? tr("Select a failed image to see its error.") : tr("%n images selected", nullptr, static_cast<int>(rows.size())));
        m_details->clear();
        m_message->clear();
        return;
    }
    const QJsonObject r = rows.first().data(ErrorsModel::RowRole).toJsonObject();
    m_location->setText(r.value(QStringLiteral("location")).toString());
    const auto ms = static_cast<qint64>(r.value(QStringLiteral("at")).toDouble());
    const QString when = ms > 0 ? QLocale().toString(QDateTime::fromMSecsSinceEpoch(ms), QLocale::LongFormat) : tr("unknown time");
    const QString worker = r.value(QStringLiteral("worker")).toString();
    m_details->setText(tr("%1 · %n attempt(s) · %2 · %3", nullptr, r.value(QStringLiteral("attempts")).toInt())
                           .arg(r.value(QStringLiteral("category")).toString(),
                                worker.isEmpty() ? tr("no worker recorded") : tr("reported by %1").arg(worker), when));
    m_message->setText(r.value(QStringLiteral("message")).toString());
}

QString ErrorsPage::detailsText() const
{
    return QStringList{m_location->text(), m_details->text(), m_message->text()}.join(QLatin1Char('\n'));
}

} // namespace SegScale::Ui
