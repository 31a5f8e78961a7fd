import { useMutation } from '@tanstack/react-query';
import { Button, Flex, Form, Input, Modal, Spin, Typography } from 'antd';
import { useEffect, useState } from 'react';
import { useApi } from '../../api/context';
import type { LLMProvider } from '../../api/types';
import { ErrorAlert } from '../../components/ErrorAlert';
import { useI18n } from '../../i18n/context';
import { ProviderTestAlert } from './ProviderTestAlert';

/**
 * TestProviderDialog tests a stored provider as soon as it opens (listing
 * its models) and lets people test again with a model, which makes a
 * one-token call.
 */
export function TestProviderDialog({
  provider,
  onClose,
}: {
  provider: LLMProvider;
  onClose: () => void;
}) {
  const { t } = useI18n();
  const api = useApi();
  const [model, setModel] = useState('');
  const test = useMutation({
    mutationFn: (m: string) => api.testLLMProvider(provider.name, m.trim() || undefined),
  });
  const { mutate } = test;
  useEffect(() => mutate(''), [mutate]);

  return (
    <Modal
      open
      title={t('ai.providers.testTitle', { name: provider.name })}
      onCancel={onClose}
      footer={<Button onClick={onClose}>{t('common.close')}</Button>}
      width={640}
    >
      <Flex vertical gap={12}>
        <Form layout="vertical" onFinish={() => test.mutate(model)}>
          <Form.Item
            label={t('ai.providers.testModel')}
            extra={t('ai.providers.testModelHelp')}
            style={{ marginBottom: 0 }}
          >
            <Flex gap={8}>
              <Input
                aria-label={t('ai.providers.testModel')}
                className="gh-mono"
                value={model}
                onChange={(e) => setModel(e.target.value)}
                autoComplete="off"
                spellCheck={false}
              />
              <Button htmlType="submit" loading={test.isPending}>
                {t('ai.providers.testAgain')}
              </Button>
            </Flex>
          </Form.Item>
        </Form>
        {test.isPending && (
          <Flex gap={8} align="center">
            <Spin size="small" />
            <Typography.Text type="secondary">{t('ai.providers.testing')}</Typography.Text>
          </Flex>
        )}
        {test.isError && <ErrorAlert error={test.error} />}
        {test.data && <ProviderTestAlert result={test.data} type={provider.type} />}
      </Flex>
    </Modal>
  );
}
