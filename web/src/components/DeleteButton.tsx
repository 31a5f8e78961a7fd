import { DeleteOutlined } from '@ant-design/icons';
import { App, Button, Popconfirm } from 'antd';
import { useI18n } from '../i18n/context';
import { describeError } from '../lib/errors';

interface DeleteButtonProps {
  /** What the confirmation asks, naming the object. */
  question: string;
  /** Accessible name of the button, naming the object. */
  label: string;
  /** Deletes; a rejection is shown as a message and keeps the object. */
  onDelete: () => Promise<unknown>;
  /** Said after deleting. */
  done: string;
  size?: 'small' | 'middle';
  text?: boolean;
}

/** DeleteButton deletes an object after a confirmation and says what happened. */
export function DeleteButton({
  question,
  label,
  onDelete,
  done,
  size = 'small',
  text,
}: DeleteButtonProps) {
  const { t } = useI18n();
  const { message } = App.useApp();
  return (
    <Popconfirm
      title={question}
      okText={t('common.delete')}
      cancelText={t('common.cancel')}
      okButtonProps={{ danger: true }}
      onConfirm={async () => {
        try {
          await onDelete();
          void message.success(done);
        } catch (err) {
          void message.error(describeError(err, t).message, 8);
        }
      }}
    >
      <Button
        size={size}
        danger
        type={text ? 'text' : 'default'}
        icon={<DeleteOutlined />}
        aria-label={label}
      >
        {text ? undefined : t('common.delete')}
      </Button>
    </Popconfirm>
  );
}
