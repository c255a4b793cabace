#include "ui/connectdialog.h"

#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>

namespace SegScale::Ui {

ConnectDialog::ConnectDialog(QWidget *parent) : QDialog(parent)
{
    setWindowTitle(tr("Connect to a coordinator"));
    QSettings settings;
    auto *form = new QFormLayout(this);
    auto *intro = new QLabel(tr("Attach to a study served by <tt>segscale serve</tt>. The admin token file is the one given to "
                                "<tt>serve --admin-token-file</tt>."),
                             this);
    intro->setWordWrap(true);
    form->addRow(intro);
    m_url = new QLineEdit(settings.value(QStringLiteral("connect/url"), QStringLiteral("ws://127.0.0.1:8765")).toString(), this);
    m_url->setPlaceholderText(QStringLiteral("ws://host:8765"));
    form->addRow(tr("&Coordinator:"), m_url);
    m_tokenFile = new QLineEdit(settings.value(QStringLiteral("connect/tokenFile")).toString(), this);
    auto *browse = new QPushButton(tr("&Browse…"), this);
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString f = QFileDialog::getOpenFileName(this, tr("Admin token file"), m_tokenFile->text());
        if (!f.isEmpty())
            m_tokenFile->setText(f);
    });
    auto *tokenRow = new QHBoxLayout;
    tokenRow->addWidget(m_tokenFile, 1);
    tokenRow->addWidget(browse);
    form->addRow(tr("Admin &token file:"), tokenRow);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("Connect"));
    connect(buttons, &QDialogButtonBox::accepted, this, [this] {
        remember();
        accept();
    });
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    form->addRow(buttons);
    setMinimumWidth(480);
}

QUrl ConnectDialog::url() const
{
    return QUrl(m_url->text().trimmed());
}

QString ConnectDialog::tokenFile() const
{
    return m_tokenFile->text().trimmed();
}

void ConnectDialog::remember()
{
    QSettings settings;
    settings.setValue(QStringLiteral("connect/url"), m_url->text().trimmed());
    settings.setValue(QStringLiteral("connect/tokenFile"), tokenFile());
}

} // namespace SegScale::Ui
