#include "ui/auditpage.h"

#include "ui/auditqualitymodel.h"
#include "ui/auditsamplemodel.h"
#include "ui/studyconnection.h"

#include <QAction>
#include <QComboBox>
#include <QFileInfo>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QJsonArray>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPixmap>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QStackedLayout>
#include <QTableView>
#include <QToolButton>
#include <QVBoxLayout>

namespace SegScale::Ui {

namespace {

QTableView *denseTable(QAbstractItemModel *model)
{
    auto *view = new QTableView;
    view->setModel(model);
    view->setSelectionBehavior(QAbstractItemView::SelectRows);
    view->setSelectionMode(QAbstractItemView::SingleSelection);
    view->setAlternatingRowColors(true);
    view->setWordWrap(false);
    view->verticalHeader()->hide();
    view->verticalHeader()->setDefaultSectionSize(view->fontMetrics().height() + 8);
    return view;
}

QToolButton *buttonFor(QAction *action)
{
    auto *b = new QToolButton;
    b->setDefaultAction(action);
    b->setToolButtonStyle(Qt::ToolButtonTextOnly);
    b->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    return b;
}

} // namespace

AuditPage::AuditPage(StudyConnection *connection, QWidget *parent)
    : QWidget(parent), m_connection(connection), m_sample(new AuditSampleModel(this)), m_quality(new AuditQualityModel(this)),
      m_mode(new QComboBox), m_class(new QComboBox), m_k(new QSpinBox), m_seed(new QSpinBox), m_draw(new QPushButton(tr("&Draw sample"))),
      m_progress(new QLabel), m_sampleView(denseTable(m_sample)), m_qualityView(denseTable(m_quality)), m_imageStack(new QStackedLayout),
      m_picture(new QLabel), m_caption(new QLabel), m_note(new QLineEdit)
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 0);

    auto *controls = new QHBoxLayout;
    m_mode->addItem(tr("Random"), QStringLiteral("random"));
    m_mode->addItem(tr("k per dataset"), QStringLiteral("per-dataset"));
    m_mode->addItem(tr("Extremes of a class share"), QStringLiteral("extremes"));
    m_mode->setToolTip(tr("Random: k finished images of the run (the same seed draws the same images).\n"
                          "k per dataset: k of every dataset.\n"
                          "Extremes: the k images with the highest and the k with the lowest share of the class."));
    m_k->setRange(1, 1000);
    m_k->setValue(20);
    m_seed->setRange(0, 2147483647);
    m_seed->setValue(1);
    m_seed->setToolTip(tr("The same seed over the same results draws the same sample"));
    m_class->setEnabled(false);
    m_class->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    controls->addWidget(new QLabel(tr("Sample:")));
    controls->addWidget(m_mode);
    controls->addWidget(new QLabel(tr("class")));
    controls->addWidget(m_class);
    controls->addWidget(new QLabel(tr("k")));
    controls->addWidget(m_k);
    controls->addWidget(new QLabel(tr("seed")));
    controls->addWidget(m_seed);
    controls->addWidget(m_draw);
    controls->addSpacing(12);
    controls->addWidget(m_progress, 1);
    layout->addLayout(controls);

    // The picture and the verdict, right of the sample list.
    m_picture->setAlignment(Qt::AlignCenter);
    m_picture->setMinimumSize(160, 120);
    m_picture->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Ignored);
    m_picture->setWordWrap(true);
    m_imageStack->addWidget(m_picture);
    m_caption->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_caption->setWordWrap(true);
    m_caption->setTextFormat(Qt::PlainText);
    m_note->setPlaceholderText(tr("Note (optional): what is wrong, or why it is fine"));
    m_accept = new QAction(tr("&Accept"), this);
    m_accept->setShortcut(QKeySequence(Qt::Key_A));
    m_accept->setToolTip(tr("Mark the image accepted and go to the next one (A)"));
    m_flag = new QAction(tr("&Flag"), this);
    m_flag->setShortcut(QKeySequence(Qt::Key_F));
    m_flag->setToolTip(tr("Mark the image flagged and go to the next one (F)"));
    m_clear = new QAction(tr("Clear mark"), this);
    for (QAction *a : {m_accept, m_flag, m_clear}) {
        // Only while this tab has the focus; typing in the note field types letters.
        a->setShortcutContext(Qt::WidgetWithChildrenShortcut);
        addAction(a);
    }
    connect(m_accept, &QAction::triggered, this, &AuditPage::accept);
    connect(m_flag, &QAction::triggered, this, &AuditPage::flag);
    connect(m_clear, &QAction::triggered, this, &AuditPage::clearMark);
    auto *buttons = new QHBoxLayout;
    buttons->addWidget(buttonFor(m_accept));
    buttons->addWidget(buttonFor(m_flag));
    buttons->addWidget(buttonFor(m_clear));
    auto *imagePane = new QWidget;
    auto *imageLayout = new QVBoxLayout(imagePane);
    imageLayout->setContentsMargins(0, 0, 0, 0);
    imageLayout->addLayout(m_imageStack, 1);
    imageLayout->addWidget(m_caption);
    imageLayout->addWidget(m_note);
    imageLayout->addLayout(buttons);

    // The verdict columns stay in sight; names and roots elide in the middle.
    QHeaderView *header = m_sampleView->horizontalHeader();
    header->setSectionResizeMode(QHeaderView::Interactive);
    header->setStretchLastSection(true);
    header->resizeSection(AuditSampleModel::Image, 180);
    header->setSectionResizeMode(AuditSampleModel::Share, QHeaderView::ResizeToContents);
    header->setSectionResizeMode(AuditSampleModel::Mark, QHeaderView::ResizeToContents);
    header->resizeSection(AuditSampleModel::Dataset, 100);
    m_sampleView->setTextElideMode(Qt::ElideMiddle);
    auto *middle = new QSplitter(Qt::Horizontal);
    middle->addWidget(m_sampleView);
    middle->addWidget(imagePane);
    middle->setStretchFactor(0, 2);
    middle->setStretchFactor(1, 3);

    auto *qualityBox = new QGroupBox(tr("Quality per dataset (accepted / marked)"));
    auto *qualityLayout = new QVBoxLayout(qualityBox);
    qualityLayout->setContentsMargins(4, 4, 4, 4);
    qualityLayout->addWidget(m_qualityView);
    m_qualityView->setSelectionMode(QAbstractItemView::NoSelection);
    m_qualityView->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_qualityView->horizontalHeader()->setSectionResizeMode(AuditQualityModel::Dataset, QHeaderView::Stretch);
    auto *vertical = new QSplitter(Qt::Vertical);
    vertical->addWidget(middle);
    vertical->addWidget(qualityBox);
    vertical->setStretchFactor(0, 4);
    vertical->setStretchFactor(1, 1);
    layout->addWidget(vertical, 1);

    // The last sample's settings come back (the same seed draws the same images).
    QSettings settings;
    m_mode->setCurrentIndex(std::max(0, m_mode->findData(settings.value(QStringLiteral("audit/mode")).toString())));
    m_class->setEnabled(m_mode->currentData().toString() == QLatin1StringView("extremes"));
    m_k->setValue(settings.value(QStringLiteral("audit/k"), 20).toInt());
    m_seed->setValue(settings.value(QStringLiteral("audit/seed"), 1).toInt());
    m_savedClass = settings.value(QStringLiteral("audit/class")).toString();

    connect(m_mode, &QComboBox::currentIndexChanged, this,
            [this] { m_class->setEnabled(m_mode->currentData().toString() == QLatin1StringView("extremes")); });
    connect(m_draw, &QPushButton::clicked, this, &AuditPage::draw);
    connect(m_sampleView->selectionModel(), &QItemSelectionModel::currentRowChanged, this, &AuditPage::showSelected);
    connect(m_sample, &QAbstractItemModel::modelReset, this, &AuditPage::showSelected);
    connect(m_connection, &StudyConnection::connected, this, [this] {
        updateActions();
        reloadSummary();
    });
    connect(m_connection, &StudyConnection::disconnected, this, &AuditPage::updateActions);
    showSelected();
    updateActions();
    reloadSummary();
}

void AuditPage::setClasses(const QStringList &classes)
{
    QStringList now;
    for (int i = 0; i < m_class->count(); ++i)
        now << m_class->itemText(i);
    if (now == classes)
        return;
    const int current = m_class->currentIndex();
    m_class->clear();
    m_class->addItems(classes);
    if (current >= 0 && current < classes.size())
        m_class->setCurrentIndex(current);
    else if (classes.contains(m_savedClass))
        m_class->setCurrentIndex(static_cast<int>(classes.indexOf(m_savedClass)));
}

void AuditPage::setImageViewer(QWidget *viewer, ImageShower show)
{
    m_imageStack->addWidget(viewer);
    m_imageStack->setCurrentWidget(viewer);
    m_show = std::move(show);
    showSelected();
}

void AuditPage::drawSample(const QString &mode, int k, qint64 seed, int classIndex)
{
    m_mode->setCurrentIndex(std::max(0, m_mode->findData(mode)));
    m_k->setValue(k);
    m_seed->setValue(static_cast<int>(seed));
    if (classIndex >= 0 && classIndex < m_class->count())
        m_class->setCurrentIndex(classIndex);
    draw();
}

void AuditPage::draw()
{
    const QString mode = m_mode->currentData().toString();
    QJsonObject request{{QStringLiteral("type"), QStringLiteral("audit-sample")},
                        {QStringLiteral("mode"), mode},
                        {QStringLiteral("k"), m_k->value()},
                        {QStringLiteral("seed"), m_seed->value()}};
    if (mode == QLatin1StringView("extremes")) {
        if (m_class->currentIndex() < 0) {
            Q_EMIT statusMessage(tr("Choose a class first (the study's classes come with its summary)"));
            return;
        }
        request.insert(QStringLiteral("class"), m_class->currentIndex());
    }
    const QString className = m_class->currentText();
    QSettings settings;
    settings.setValue(QStringLiteral("audit/mode"), mode);
    settings.setValue(QStringLiteral("audit/k"), m_k->value());
    settings.setValue(QStringLiteral("audit/seed"), m_seed->value());
    if (!className.isEmpty())
        settings.setValue(QStringLiteral("audit/class"), className);
    m_drawing = true;
    updateActions();
    m_progress->setText(tr("Drawing…"));
    m_connection->ask(
        tr("Draw an audit sample"), request, this,
        [this, className](const QJsonObject &r) {
            m_drawing = false;
            m_drawnClass = className;
            const QJsonArray rows = r.value(QStringLiteral("rows")).toArray();
            m_sample->setRows(rows);
            if (!rows.isEmpty())
                m_sampleView->selectRow(0);
            m_sampleView->setFocus();
            reloadSummary();  // names the datasets, and the counts may have moved
            updateActions();
            Q_EMIT statusMessage(tr("%n image(s) drawn from %1 finished", nullptr, static_cast<int>(rows.size()))
                                     .arg(QLocale().toString(static_cast<qint64>(r.value(QStringLiteral("scanned")).toDouble()))));
            Q_EMIT sampleDrawn(static_cast<int>(rows.size()));
        },
        [this](const QString &) {
            m_drawing = false;
            updateActions();
        });
}

void AuditPage::accept()
{
    mark(QStringLiteral("accepted"));
}

void AuditPage::flag()
{
    mark(QStringLiteral("flagged"));
}

void AuditPage::clearMark()
{
    mark(QStringLiteral("none"));
}

void AuditPage::mark(const QString &verdict)
{
    const QModelIndex current = m_sampleView->currentIndex();
    if (!current.isValid() || !m_connection->isConnected())
        return;
    const qint64 image = current.data(Qt::UserRole).toLongLong();
    QString by = qEnvironmentVariable("USER");
    if (by.isEmpty())
        by = qEnvironmentVariable("USERNAME");
    m_connection->ask(tr("Mark image %1").arg(image),
                      QJsonObject{{QStringLiteral("type"), QStringLiteral("audit-mark")},
                                  {QStringLiteral("image"), static_cast<double>(image)},
                                  {QStringLiteral("verdict"), verdict},
                                  {QStringLiteral("note"), m_note->text()},
                                  {QStringLiteral("by"), by}},
                      this, [this, image, verdict](const QJsonObject &r) {
                          m_sample->setMark(image, r.value(QStringLiteral("mark")).toObject());
                          // Reviewing goes down the list: the next image is up at once.
                          const int row = m_sample->rowOf(image);
                          if (verdict != QLatin1StringView("none") && row >= 0 && row + 1 < m_sample->rowCount() &&
                              m_sampleView->currentIndex().row() == row)
                              m_sampleView->selectRow(row + 1);
                          else
                              showSelected();
                          reloadSummary(false);
                          Q_EMIT marked(image);
                      });
}

void AuditPage::reloadSummary(bool countFinished)
{
    if (!m_connection->isConnected())
        return;
    m_connection->ask(tr("Audit summary"),
                      QJsonObject{{QStringLiteral("type"), QStringLiteral("audit-summary")}, {QStringLiteral("finished"), countFinished}}, this,
                      [this](const QJsonObject &r) {
                          QJsonArray rows = r.value(QStringLiteral("datasets")).toArray();
                          // Not counted this time: the last count stands.
                          for (qsizetype i = 0; i < rows.size(); ++i) {
                              QJsonObject row = rows[i].toObject();
                              if (!row.contains(QStringLiteral("finished"))) {
                                  row.insert(QStringLiteral("finished"), m_quality->finishedOf(static_cast<qint64>(row.value(QStringLiteral("dataset")).toDouble())));
                                  rows[i] = row;
                              }
                          }
                          m_quality->setRows(rows);
                          QHash<qint64, QString> names;
                          for (const auto &v : rows) {
                              const QJsonObject d = v.toObject();
                              names.insert(static_cast<qint64>(d.value(QStringLiteral("dataset")).toDouble()),
                                           d.value(QStringLiteral("root")).toString());
                          }
                          m_sample->setDatasetNames(names);
                          updateActions();
                          Q_EMIT summaryLoaded();
                      });
}

void AuditPage::clear()
{
    m_sample->clear();
    m_quality->clear();
    updateActions();
}

void AuditPage::showSelected()
{
    const QModelIndex current = m_sampleView->currentIndex();
    const QJsonObject row = current.isValid() ? current.data(AuditSampleModel::RowRole).toJsonObject() : QJsonObject{};
    const QJsonObject mark = row.value(QStringLiteral("mark")).toObject();
    m_note->setText(mark.value(QStringLiteral("note")).toString());
    if (row.isEmpty()) {
        m_caption->setText(m_sample->rowCount() == 0 ? tr("Draw a sample, then mark each image accepted (A) or flagged (F).") : QString());
    } else {
        QString caption = row.value(QStringLiteral("location")).toString();
        if (row.contains(QStringLiteral("share")))
            caption += tr("\n%1: %2 %").arg(m_drawnClass, QLocale().toString(row.value(QStringLiteral("share")).toDouble() * 100.0, 'f', 2));
        if (!mark.isEmpty())
            caption += tr("\n%1 by %2").arg(mark.value(QStringLiteral("verdict")).toString(), mark.value(QStringLiteral("marked_by")).toString());
        m_caption->setText(caption);
    }
    if (m_show)
        m_show(row);
    else
        showInLabel(row);
    updateActions();
}

void AuditPage::showInLabel(const QJsonObject &row)
{
    // A hook until the image viewer is wired in (setImageViewer): the overlay, else the
    // photo, when they are files on this machine (an embedded study); else a placeholder.
    m_picture->setPixmap({});
    if (row.isEmpty()) {
        m_picture->setText(tr("No image selected"));
        return;
    }
    for (const QString &key : {QStringLiteral("overlay"), QStringLiteral("location")}) {
        const QString path = row.value(key).toString();
        if (path.isEmpty() || !QFileInfo(path).isFile())
            continue;
        QPixmap pixmap(path);
        if (pixmap.isNull())
            continue;
        m_picture->setPixmap(pixmap.scaled(m_picture->size().expandedTo(QSize(320, 240)), Qt::KeepAspectRatio, Qt::SmoothTransformation));
        m_picture->setToolTip(path);
        return;
    }
    m_picture->setText(tr("No overlay readable on this machine for\n%1\n(the image viewer comes from the results view)")
                           .arg(row.value(QStringLiteral("location")).toString()));
}

void AuditPage::updateActions()
{
    const bool online = m_connection->isConnected();
    const bool selected = m_sampleView->currentIndex().isValid();
    m_draw->setEnabled(online && !m_drawing);
    m_accept->setEnabled(online && selected);
    m_flag->setEnabled(online && selected);
    m_clear->setEnabled(online && selected && m_sampleView->currentIndex().siblingAtColumn(AuditSampleModel::Mark).data().isValid() &&
                        !m_sampleView->currentIndex().siblingAtColumn(AuditSampleModel::Mark).data().toString().isEmpty());
    m_progress->setText(m_drawing ? tr("Drawing…")
                        : m_sample->rowCount() > 0
                            ? tr("%1 of %n marked", nullptr, m_sample->rowCount()).arg(m_sample->markedCount())
                            : QString());
}

} // namespace SegScale::Ui
