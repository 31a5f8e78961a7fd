import { Button, Flex } from 'antd';
import type { ReactNode } from 'react';
import { useI18n } from '../i18n/context';
import { SideDrawer } from './SideDrawer';

interface EditorDrawerProps {
  title: string;
  onClose: () => void;
  onSave: () => void;
  saving: boolean;
  children: ReactNode;
  /** Width on wide windows; the drawer fills narrow ones. */
  width?: number;
  saveLabel?: string;
}

/** EditorDrawer holds the form that creates or edits one object, with Save and Cancel. */
export function EditorDrawer({
  title,
  onClose,
  onSave,
  saving,
  children,
  width = 720,
  saveLabel,
}: EditorDrawerProps) {
  const { t } = useI18n();
  return (
    <SideDrawer
      title={title}
      onClose={onClose}
      width={width}
      footer={
        <Flex justify="flex-end" gap={8}>
          <Button onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="primary" loading={saving} onClick={onSave}>
            {saveLabel ?? t('common.save')}
          </Button>
        </Flex>
      }
    >
      {children}
    </SideDrawer>
  );
}
